import NIOCore

/// Everything Keyway knows about one Redis command or subcommand: what `COMMAND INFO` and `COMMAND DOCS` say
/// (generated from Redis 7.0), plus the proxy routing policy and Redis's key procedure (hand-maintained overlay).
///
/// A class so that a lookup on the hot path hands out one reference instead of copying a dozen fields.
public final class CommandSpec: Sendable {
    /// The full lowercase name: `get`, or `container|sub` for a subcommand (`cluster|setslot`).
    public let name: String
    /// Redis arity: N means exactly N arguments (command name included), -N at least N.
    public let arity: Int
    public let flags: CommandFlags
    /// Legacy key positions of `COMMAND` (first key, last key, step), as Redis reports them.
    public let firstKey: Int
    public let lastKey: Int
    public let step: Int
    public let aclCategories: ACLCategories
    /// Command tips (`nondeterministic_output`, `request_policy:all_shards`, ...), in Redis's order.
    public let tips: [String]
    public let keySpecs: [KeySpec]
    /// Subcommands of a container command (CLUSTER, CONFIG, OBJECT, ...), sorted by name.
    public let subcommands: [CommandSpec]
    public let docs: CommandDocs
    /// How the proxy routes this command.
    public let routing: RoutingPolicy
    /// The special-case key function Redis falls back to (its `getkeys_proc`), if any.
    package let keyProcedure: KeyProcedure
    /// True when some key spec is not `not_key` (Redis: the command has a usable key spec).
    let hasKeySpecKeys: Bool
    /// True when some key spec has `variable_flags` (Redis then prefers the key procedure).
    let hasVariableFlagSpecs: Bool
    let subcommandIndex: CommandNameIndex
    /// When the command's keys are one run at a fixed index (GET, SET, MSET, DEL...): (first index, last key, step)
    /// of its only key spec, so the hot path finds keys without walking the specs. `lastKey` is as in the spec.
    let singleRangeKeys: (first: Int, lastKey: Int, step: Int)?
    /// SPUBLISH, SSUBSCRIBE and SUNSUBSCRIBE, which Redis Cluster routes by their shard channels' slot.
    public let routesByShardChannel: Bool

    public init(
        name: String,
        arity: Int,
        flags: CommandFlags,
        firstKey: Int,
        lastKey: Int,
        step: Int,
        aclCategories: ACLCategories,
        tips: [String] = [],
        keySpecs: [KeySpec] = [],
        subcommands: [CommandSpec] = [],
        docs: CommandDocs
    ) {
        self.name = name
        self.arity = arity
        self.flags = flags
        self.firstKey = firstKey
        self.lastKey = lastKey
        self.step = step
        self.aclCategories = aclCategories
        self.tips = tips
        self.keySpecs = keySpecs
        let sortedSubcommands = subcommands.sorted { $0.name < $1.name }
        self.subcommands = sortedSubcommands
        self.docs = docs
        let procedure = CommandOverlay.keyProcedure(for: name)
        let specKeys = keySpecs.contains { !$0.flags.contains(.notKey) }
        self.keyProcedure = procedure
        self.hasKeySpecKeys = specKeys
        self.hasVariableFlagSpecs = keySpecs.contains { $0.flags.contains(.variableFlags) }
        self.routing = CommandOverlay.routing(for: name, hasKeys: specKeys || procedure != .none)
        self.subcommandIndex = CommandNameIndex(names: sortedSubcommands.map { $0.subcommandName })
        self.routesByShardChannel = name == "spublish" || name == "ssubscribe" || name == "sunsubscribe"
        if keySpecs.count == 1, let only = keySpecs.first, !only.flags.contains(.notKey),
            !only.flags.contains(.incomplete), !only.flags.contains(.variableFlags),
            case .index(let first) = only.beginSearch, case .range(let lastKey, let step, 0) = only.findKeys
        {
            self.singleRangeKeys = (first, lastKey, step)
        } else {
            self.singleRangeKeys = nil
        }
    }

    /// The container's name for a subcommand (`cluster` for `cluster|setslot`); the name itself otherwise.
    public var containerName: Substring {
        name.split(separator: "|", maxSplits: 1).first ?? Substring(name)
    }

    /// The subcommand part of the name (`setslot` for `cluster|setslot`); the name itself for a command.
    public var subcommandName: Substring {
        name.split(separator: "|", maxSplits: 1).last ?? Substring(name)
    }

    /// True for a subcommand (`cluster|setslot`).
    public var isSubcommand: Bool {
        name.utf8.contains(UInt8(ascii: "|"))
    }

    /// True for a container command with subcommands (CLUSTER, CONFIG, OBJECT, ...).
    public var isContainer: Bool {
        !subcommands.isEmpty
    }

    /// True when the command may have key arguments (Redis's `doesCommandHaveKeys`): a key procedure, or a key
    /// spec that is not `not_key`.
    public var hasKeys: Bool {
        hasKeySpecKeys || keyProcedure != .none
    }

    /// Whether `argumentCount` arguments (command name included) satisfy the arity.
    @inlinable
    public func acceptsArgumentCount(_ argumentCount: Int) -> Bool {
        arity >= 0 ? argumentCount == arity : argumentCount >= -arity
    }

    /// The subcommand named by `name` (case-insensitive), for a container; no allocation.
    public func subcommand(named name: ByteBuffer) -> CommandSpec? {
        guard let index = subcommandIndex.find(name) else { return nil }
        return subcommands[index]
    }

    /// The subcommand named by `name` (case-insensitive), for a container.
    public func subcommand(named name: String) -> CommandSpec? {
        guard let index = subcommandIndex.find(name) else { return nil }
        return subcommands[index]
    }

    /// The `request_policy:` tip's value (`all_shards`, `all_nodes`, `multi_shard`, `special`), if any.
    public var requestPolicyTip: Substring? {
        tipValue(prefix: "request_policy:")
    }

    /// The `response_policy:` tip's value (`all_succeeded`, `agg_sum`, ...), if any.
    public var responsePolicyTip: Substring? {
        tipValue(prefix: "response_policy:")
    }

    private func tipValue(prefix: String) -> Substring? {
        for tip in tips where tip.hasPrefix(prefix) {
            return tip.dropFirst(prefix.count)
        }
        return nil
    }
}

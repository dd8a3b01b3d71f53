/// The flags Redis 7.0 reports for a command in `COMMAND` / `COMMAND INFO` (`write`, `readonly`, `fast`, ...).
///
/// Bits are declared in the order Redis writes them in a reply, so ``names`` reproduces that order.
/// Redis's hidden flags (`may_replicate`, `protected`, `sentinel`, `only_sentinel`) never appear in a reply,
/// so they cannot be read from a server and are not part of this set.
public struct CommandFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32

    @inlinable
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    public static let write = CommandFlags(rawValue: 1 << 0)
    public static let readonly = CommandFlags(rawValue: 1 << 1)
    public static let denyoom = CommandFlags(rawValue: 1 << 2)
    public static let module = CommandFlags(rawValue: 1 << 3)
    public static let admin = CommandFlags(rawValue: 1 << 4)
    public static let pubsub = CommandFlags(rawValue: 1 << 5)
    public static let noscript = CommandFlags(rawValue: 1 << 6)
    public static let blocking = CommandFlags(rawValue: 1 << 7)
    public static let loading = CommandFlags(rawValue: 1 << 8)
    public static let stale = CommandFlags(rawValue: 1 << 9)
    public static let skipMonitor = CommandFlags(rawValue: 1 << 10)
    public static let skipSlowlog = CommandFlags(rawValue: 1 << 11)
    public static let asking = CommandFlags(rawValue: 1 << 12)
    public static let fast = CommandFlags(rawValue: 1 << 13)
    public static let noAuth = CommandFlags(rawValue: 1 << 14)
    public static let noMandatoryKeys = CommandFlags(rawValue: 1 << 15)
    public static let noAsyncLoading = CommandFlags(rawValue: 1 << 16)
    public static let noMulti = CommandFlags(rawValue: 1 << 17)
    public static let movableKeys = CommandFlags(rawValue: 1 << 18)
    public static let allowBusy = CommandFlags(rawValue: 1 << 19)

    /// Every flag with its wire name, in Redis's reply order.
    public static let wireNames: [(flag: CommandFlags, name: String)] = [
        (.write, "write"), (.readonly, "readonly"), (.denyoom, "denyoom"), (.module, "module"),
        (.admin, "admin"), (.pubsub, "pubsub"), (.noscript, "noscript"), (.blocking, "blocking"),
        (.loading, "loading"), (.stale, "stale"), (.skipMonitor, "skip_monitor"),
        (.skipSlowlog, "skip_slowlog"), (.asking, "asking"), (.fast, "fast"), (.noAuth, "no_auth"),
        (.noMandatoryKeys, "no_mandatory_keys"), (.noAsyncLoading, "no_async_loading"),
        (.noMulti, "no_multi"), (.movableKeys, "movablekeys"), (.allowBusy, "allow_busy"),
    ]

    /// The wire names of the flags in this set, in Redis's reply order.
    public var names: [String] {
        Self.wireNames.compactMap { self.contains($0.flag) ? $0.name : nil }
    }
}

/// The ACL categories of a command (`@read`, `@write`, `@string`, ...), as in `COMMAND INFO`'s seventh field.
///
/// Bits follow Redis's category table, which is also the order of a reply.
public struct ACLCategories: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32

    @inlinable
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    public static let keyspace = ACLCategories(rawValue: 1 << 0)
    public static let read = ACLCategories(rawValue: 1 << 1)
    public static let write = ACLCategories(rawValue: 1 << 2)
    public static let set = ACLCategories(rawValue: 1 << 3)
    public static let sortedSet = ACLCategories(rawValue: 1 << 4)
    public static let list = ACLCategories(rawValue: 1 << 5)
    public static let hash = ACLCategories(rawValue: 1 << 6)
    public static let string = ACLCategories(rawValue: 1 << 7)
    public static let bitmap = ACLCategories(rawValue: 1 << 8)
    public static let hyperLogLog = ACLCategories(rawValue: 1 << 9)
    public static let geo = ACLCategories(rawValue: 1 << 10)
    public static let stream = ACLCategories(rawValue: 1 << 11)
    public static let pubsub = ACLCategories(rawValue: 1 << 12)
    public static let admin = ACLCategories(rawValue: 1 << 13)
    public static let fast = ACLCategories(rawValue: 1 << 14)
    public static let slow = ACLCategories(rawValue: 1 << 15)
    public static let blocking = ACLCategories(rawValue: 1 << 16)
    public static let dangerous = ACLCategories(rawValue: 1 << 17)
    public static let connection = ACLCategories(rawValue: 1 << 18)
    public static let transaction = ACLCategories(rawValue: 1 << 19)
    public static let scripting = ACLCategories(rawValue: 1 << 20)

    /// Every category with its name (without the `@` that `COMMAND INFO` puts in front), in reply order.
    public static let wireNames: [(category: ACLCategories, name: String)] = [
        (.keyspace, "keyspace"), (.read, "read"), (.write, "write"), (.set, "set"),
        (.sortedSet, "sortedset"), (.list, "list"), (.hash, "hash"), (.string, "string"),
        (.bitmap, "bitmap"), (.hyperLogLog, "hyperloglog"), (.geo, "geo"), (.stream, "stream"),
        (.pubsub, "pubsub"), (.admin, "admin"), (.fast, "fast"), (.slow, "slow"),
        (.blocking, "blocking"), (.dangerous, "dangerous"), (.connection, "connection"),
        (.transaction, "transaction"), (.scripting, "scripting"),
    ]

    /// The categories as `COMMAND INFO` writes them (`@write`, `@string`, ...), in reply order.
    public var names: [String] {
        Self.wireNames.compactMap { self.contains($0.category) ? "@" + $0.name : nil }
    }
}

/// The flags of one key specification (`RO`, `RW`, `access`, `not_key`, `incomplete`, ...).
///
/// Bits are declared in Redis's reply order.
public struct KeySpecFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16

    @inlinable
    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// Read-only: the command reads the value but does not modify or delete it.
    public static let ro = KeySpecFlags(rawValue: 1 << 0)
    /// Read-write: the command reads and modifies the value.
    public static let rw = KeySpecFlags(rawValue: 1 << 1)
    /// Overwrite: the command writes the value without reading it.
    public static let ow = KeySpecFlags(rawValue: 1 << 2)
    /// Remove: the command deletes the key.
    public static let rm = KeySpecFlags(rawValue: 1 << 3)
    public static let access = KeySpecFlags(rawValue: 1 << 4)
    public static let update = KeySpecFlags(rawValue: 1 << 5)
    public static let insert = KeySpecFlags(rawValue: 1 << 6)
    public static let delete = KeySpecFlags(rawValue: 1 << 7)
    /// Not a key (for example a shard channel): hashed like a key but not a keyspace access.
    public static let notKey = KeySpecFlags(rawValue: 1 << 8)
    /// The spec may miss keys; Redis falls back to the command's key procedure.
    public static let incomplete = KeySpecFlags(rawValue: 1 << 9)
    /// The flags depend on the arguments; Redis uses the command's key procedure instead of the spec.
    public static let variableFlags = KeySpecFlags(rawValue: 1 << 10)

    /// Every flag with its wire name, in Redis's reply order.
    public static let wireNames: [(flag: KeySpecFlags, name: String)] = [
        (.ro, "RO"), (.rw, "RW"), (.ow, "OW"), (.rm, "RM"), (.access, "access"), (.update, "update"),
        (.insert, "insert"), (.delete, "delete"), (.notKey, "not_key"), (.incomplete, "incomplete"),
        (.variableFlags, "variable_flags"),
    ]

    /// The wire names of the flags in this set, in Redis's reply order.
    public var names: [String] {
        Self.wireNames.compactMap { self.contains($0.flag) ? $0.name : nil }
    }
}

/// Documentation flags of a command in `COMMAND DOCS` (`deprecated`, `syscmd`).
public struct CommandDocFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8

    @inlinable
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    public static let deprecated = CommandDocFlags(rawValue: 1 << 0)
    public static let syscmd = CommandDocFlags(rawValue: 1 << 1)

    /// Every flag with its wire name, in Redis's reply order.
    public static let wireNames: [(flag: CommandDocFlags, name: String)] = [
        (.deprecated, "deprecated"), (.syscmd, "syscmd"),
    ]

    /// The wire names of the flags in this set, in Redis's reply order.
    public var names: [String] {
        Self.wireNames.compactMap { self.contains($0.flag) ? $0.name : nil }
    }
}

/// Flags of one argument in `COMMAND DOCS` (`optional`, `multiple`, `multiple_token`).
public struct CommandArgumentFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8

    @inlinable
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    public static let optional = CommandArgumentFlags(rawValue: 1 << 0)
    public static let multiple = CommandArgumentFlags(rawValue: 1 << 1)
    public static let multipleToken = CommandArgumentFlags(rawValue: 1 << 2)

    /// Every flag with its wire name, in Redis's reply order.
    public static let wireNames: [(flag: CommandArgumentFlags, name: String)] = [
        (.optional, "optional"), (.multiple, "multiple"), (.multipleToken, "multiple_token"),
    ]

    /// The wire names of the flags in this set, in Redis's reply order.
    public var names: [String] {
        Self.wireNames.compactMap { self.contains($0.flag) ? $0.name : nil }
    }
}

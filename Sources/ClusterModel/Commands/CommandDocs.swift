/// What `COMMAND DOCS` says about one command: summary, versions, group, complexity, history and arguments.
///
/// Stored so that a node can answer `COMMAND DOCS` as Redis 7.0 does.
public struct CommandDocs: Sendable, Hashable {
    public var summary: String
    /// The Redis version that introduced the command (`since`).
    public var since: String
    public var group: CommandGroup
    /// Time complexity; `nil` for the few commands whose docs have none.
    public var complexity: String?
    public var docFlags: CommandDocFlags
    public var deprecatedSince: String?
    public var replacedBy: String?
    public var history: [CommandHistoryEntry]
    public var arguments: [CommandArgument]

    public init(
        summary: String,
        since: String,
        group: CommandGroup,
        complexity: String? = nil,
        docFlags: CommandDocFlags = [],
        deprecatedSince: String? = nil,
        replacedBy: String? = nil,
        history: [CommandHistoryEntry] = [],
        arguments: [CommandArgument] = []
    ) {
        self.summary = summary
        self.since = since
        self.group = group
        self.complexity = complexity
        self.docFlags = docFlags
        self.deprecatedSince = deprecatedSince
        self.replacedBy = replacedBy
        self.history = history
        self.arguments = arguments
    }
}

/// One entry of a command's `history` in `COMMAND DOCS`: the version and what changed.
public struct CommandHistoryEntry: Sendable, Hashable {
    public var version: String
    public var description: String

    public init(version: String, description: String) {
        self.version = version
        self.description = description
    }
}

/// The documentation group of a command (`COMMAND DOCS` field `group`).
public enum CommandGroup: String, Sendable, Hashable, CaseIterable {
    case generic
    case string
    case list
    case set
    case sortedSet = "sorted-set"
    case hash
    case pubsub
    case transactions
    case connection
    case server
    case scripting
    case hyperLogLog = "hyperloglog"
    case cluster
    case sentinel
    case geo
    case stream
    case bitmap
    case module
}

/// One argument (or group of arguments) of a command, as in `COMMAND DOCS`.
public struct CommandArgument: Sendable, Hashable {
    /// The argument's type; the raw value is the wire name.
    public enum ArgumentType: String, Sendable, Hashable, CaseIterable {
        case string
        case integer
        case double
        case key
        case pattern
        case unixTime = "unix-time"
        case pureToken = "pure-token"
        case oneOf = "oneof"
        case block
    }

    public var name: String
    public var type: ArgumentType
    /// Index into the command's key specs, for `key` arguments.
    public var keySpecIndex: Int?
    public var token: String?
    public var since: String?
    public var deprecatedSince: String?
    public var flags: CommandArgumentFlags
    /// Nested arguments of a `oneof` or `block`.
    public var arguments: [CommandArgument]

    public init(
        name: String,
        type: ArgumentType,
        keySpecIndex: Int? = nil,
        token: String? = nil,
        since: String? = nil,
        deprecatedSince: String? = nil,
        flags: CommandArgumentFlags = [],
        arguments: [CommandArgument] = []
    ) {
        self.name = name
        self.type = type
        self.keySpecIndex = keySpecIndex
        self.token = token
        self.since = since
        self.deprecatedSince = deprecatedSince
        self.flags = flags
        self.arguments = arguments
    }
}

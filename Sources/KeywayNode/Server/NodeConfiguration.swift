import Foundation
import ClusterModel
import RESP

/// Settings of a `keyway node`; each has a command-line flag or a config-file directive, and most can change at
/// run time (CONFIG SET). Parameters Keyway does not act on yet keep their Redis 7.0 values in `otherParameters`.
public struct NodeConfiguration: Sendable {
    public var bind: String = "127.0.0.1"
    public var port: Int = 6379
    public var clusterEnabled = false
    /// Where the cluster config (nodes.conf) and, later, snapshots and the AOF live.
    public var directory: String = "."
    /// Number of databases in standalone mode (cluster mode has only db 0, as Redis).
    public var databases = 16
    /// Event loops serving clients; defaults to one per core but one (`EventLoopThreads.default`).
    public var threads = EventLoopThreads.default
    /// Maximum connected clients (`maxclients`).
    public var maxClients = 10_000
    /// Maximum bytes buffered from a client that has not sent a complete command (`client-query-buffer-limit`).
    public var clientQueryBufferLimit = 1024 * 1024 * 1024
    /// Output buffer limits per client class (`client-output-buffer-limit`).
    public var outputBufferLimits = ClientOutputBufferLimits()
    /// Output buffer hard limit for normal clients in bytes; 0 = unlimited (`client-output-buffer-limit normal`).
    public var outputBufferLimitNormal: Int {
        get { outputBufferLimits.normal.hard }
        set { outputBufferLimits.normal.hard = newValue }
    }
    /// Output buffer hard limit for pub/sub clients (`client-output-buffer-limit pubsub 32mb`).
    public var outputBufferLimitPubSub: Int {
        get { outputBufferLimits.pubsub.hard }
        set { outputBufferLimits.pubsub.hard = newValue }
    }
    /// Protocol limits (`proto-max-bulk-len` and friends).
    public var protocolLimits = RESPLimits.default
    /// Slow log threshold in microseconds (`slowlog-log-slower-than`; negative disables), and its length.
    public var slowlogSlowerThan = 10_000
    public var slowlogMaxLength = 128
    /// Cluster node timeout in milliseconds.
    public var clusterNodeTimeout = 15_000
    /// The cluster config file (Redis's `cluster-config-file`), relative to `directory`; default `nodes-<port>.conf`.
    public var clusterConfigFile: String?

    /// The config file given with `--config`, which CONFIG REWRITE rewrites; nil when started without one.
    public var configFile: String?
    /// Close clients idle for this many seconds; 0 = never (`timeout`).
    public var timeout = 0
    /// TCP keepalive interval in seconds (`tcp-keepalive`).
    public var tcpKeepalive = 300
    /// Memory limit in bytes; 0 = none (`maxmemory`), and what to do when it is reached (`maxmemory-policy`).
    public var maxMemory = 0
    public var maxMemoryPolicy = "noeviction"
    /// The default user's password (`requirepass`); nil = no password (every connection is authenticated).
    public var requirePass: String?
    /// Keyspace notification classes (`notify-keyspace-events`), Redis's bit values.
    public var notifyKeyspaceEvents = KeyspaceEventClasses()
    /// DEBUG availability (`enable-debug-command`): `no`, `yes`, or `local` (loopback clients only).
    public var enableDebugCommand = "local"
    /// Latency monitor threshold in milliseconds (`latency-monitor-threshold`); 0 = off.
    public var latencyMonitorThreshold = 0

    /// Encoding thresholds, reported by OBJECT ENCODING (`*-max-listpack-*`, `set-max-intset-entries`...).
    public var hashMaxListpackEntries = 512
    public var hashMaxListpackValue = 64
    public var setMaxIntsetEntries = 512
    public var zsetMaxListpackEntries = 128
    public var zsetMaxListpackValue = 64
    public var listMaxListpackSize = -2
    public var listCompressDepth = 0
    public var streamNodeMaxBytes = 4096
    public var streamNodeMaxEntries = 100

    /// Snapshot points (`save`): pairs of seconds and changes. Keyway does not persist yet; the value is kept.
    public var save = ""
    public var appendOnly = false
    public var dbFilename = "dump.rdb"

    /// Every other Redis 7.0 parameter, by canonical name, as CONFIG GET prints it (values CONFIG SET accepted).
    var otherParameters: [String: String] = [:]

    public init() {}

    /// Reads a Redis-style config file (`directive arg...` lines, `#` comments, quoted arguments) on top of
    /// the defaults, with the same validation and error texts as CONFIG SET; remembers the path for REWRITE.
    public static func load(file path: String, base: NodeConfiguration = NodeConfiguration()) throws
        -> NodeConfiguration
    {
        var configuration = base
        var sawSave = false
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let words = ConfigFile.splitArguments(trimmed), let directive = words.first else {
                throw ConfigFileError(line: number + 1, text: String(line), reason: "Unbalanced quotes in configuration line")
            }
            var value = words.dropFirst().joined(separator: " ")
            // Each `save` line adds a snapshot point (the first one replaces the default).
            if directive.lowercased() == "save" {
                if sawSave && !value.isEmpty && !configuration.save.isEmpty { value = configuration.save + " " + value }
                sawSave = true
            }
            do {
                try configuration.apply(directive: directive, value: value, fromFile: true)
            } catch {
                throw ConfigFileError(line: number + 1, text: String(line), reason: error.reason)
            }
        }
        configuration.configFile = path
        return configuration
    }
}

/// A config file line Keyway cannot accept; the text follows Redis's `*** FATAL CONFIG FILE ERROR ***` report.
public struct ConfigFileError: Error, CustomStringConvertible {
    public var line: Int
    public var text: String
    public var reason: String

    public var description: String {
        "*** FATAL CONFIG FILE ERROR *** line \(line): >>> '\(text)' \(reason)"
    }
}

/// `client-output-buffer-limit`: per client class, a hard limit and a soft limit held for some seconds.
public struct ClientOutputBufferLimits: Sendable, Hashable {
    public struct Limit: Sendable, Hashable {
        /// Bytes; 0 = no limit.
        public var hard: Int
        public var soft: Int
        public var softSeconds: Int

        public init(hard: Int, soft: Int, softSeconds: Int) {
            self.hard = hard
            self.soft = soft
            self.softSeconds = softSeconds
        }
    }

    public var normal = Limit(hard: 0, soft: 0, softSeconds: 0)
    public var replica = Limit(hard: 256 * 1024 * 1024, soft: 64 * 1024 * 1024, softSeconds: 60)
    public var pubsub = Limit(hard: 32 * 1024 * 1024, soft: 8 * 1024 * 1024, softSeconds: 60)

    public init() {}
}

/// Keyspace notification classes as Redis numbers them (`notify-keyspace-events`).
public struct KeyspaceEventClasses: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let keyspace = KeyspaceEventClasses(rawValue: 1 << 0)  // K
    public static let keyevent = KeyspaceEventClasses(rawValue: 1 << 1)  // E
    public static let generic = KeyspaceEventClasses(rawValue: 1 << 2)  // g
    public static let string = KeyspaceEventClasses(rawValue: 1 << 3)  // $
    public static let list = KeyspaceEventClasses(rawValue: 1 << 4)  // l
    public static let set = KeyspaceEventClasses(rawValue: 1 << 5)  // s
    public static let hash = KeyspaceEventClasses(rawValue: 1 << 6)  // h
    public static let zset = KeyspaceEventClasses(rawValue: 1 << 7)  // z
    public static let expired = KeyspaceEventClasses(rawValue: 1 << 8)  // x
    public static let evicted = KeyspaceEventClasses(rawValue: 1 << 9)  // e
    public static let stream = KeyspaceEventClasses(rawValue: 1 << 10)  // t
    public static let keyMiss = KeyspaceEventClasses(rawValue: 1 << 11)  // m
    public static let loaded = KeyspaceEventClasses(rawValue: 1 << 12)  // module only
    public static let module = KeyspaceEventClasses(rawValue: 1 << 13)  // d
    public static let new = KeyspaceEventClasses(rawValue: 1 << 14)  // n
    /// `A`: g$lshzxetd.
    public static let all: KeyspaceEventClasses = [
        .generic, .string, .list, .set, .hash, .zset, .expired, .evicted, .stream, .module,
    ]

    /// Parses Redis's class characters; nil on an unknown character.
    public init?(classes: String) {
        var flags = KeyspaceEventClasses()
        for character in classes.utf8 {
            switch character {
            case UInt8(ascii: "A"): flags.formUnion(.all)
            case UInt8(ascii: "g"): flags.insert(.generic)
            case UInt8(ascii: "$"): flags.insert(.string)
            case UInt8(ascii: "l"): flags.insert(.list)
            case UInt8(ascii: "s"): flags.insert(.set)
            case UInt8(ascii: "h"): flags.insert(.hash)
            case UInt8(ascii: "z"): flags.insert(.zset)
            case UInt8(ascii: "x"): flags.insert(.expired)
            case UInt8(ascii: "e"): flags.insert(.evicted)
            case UInt8(ascii: "K"): flags.insert(.keyspace)
            case UInt8(ascii: "E"): flags.insert(.keyevent)
            case UInt8(ascii: "t"): flags.insert(.stream)
            case UInt8(ascii: "m"): flags.insert(.keyMiss)
            case UInt8(ascii: "d"): flags.insert(.module)
            case UInt8(ascii: "n"): flags.insert(.new)
            default: return nil
            }
        }
        self = flags
    }

    /// The canonical spelling CONFIG GET prints (`AKE`, `gxE`...).
    public var classes: String {
        var text = ""
        if isSuperset(of: .all) {
            text += "A"
        } else {
            let order: [(KeyspaceEventClasses, String)] = [
                (.generic, "g"), (.string, "$"), (.list, "l"), (.set, "s"), (.hash, "h"), (.zset, "z"),
                (.expired, "x"), (.evicted, "e"), (.stream, "t"), (.module, "d"), (.new, "n"),
            ]
            for (flag, letter) in order where contains(flag) { text += letter }
        }
        if contains(.keyspace) { text += "K" }
        if contains(.keyevent) { text += "E" }
        if contains(.keyMiss) { text += "m" }
        return text
    }
}

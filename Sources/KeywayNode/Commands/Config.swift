import Foundation
import NIOCore

// CONFIG GET / SET / RESETSTAT / REWRITE / HELP, over Redis 7.0's full parameter table: every parameter
// `CONFIG GET *` lists, with its type, bounds, default and mutability, so that validation errors and values
// read back are Redis's own. Parameters Keyway acts on are bound to `NodeConfiguration` fields; the others keep
// the value they were given (`NodeConfiguration.otherParameters`).

/// Why a parameter value was refused; `reason` is the text Redis puts after `CONFIG SET failed (...) - `.
struct ConfigError: Error {
    var reason: String
}

/// How a parameter's value is parsed, validated and printed.
enum ConfigKind: Sendable {
    case bool
    case integer(Int64, Int64)
    /// A byte count (`1gb`, `64mb`, `100`), printed as bytes.
    case memory(Int64, Int64)
    /// A byte count or a percentage (`maxmemory-clients`).
    case memoryOrPercent
    case enumeration([String])
    case string
    /// Parsed by the parameter's own rules (`save`, `client-output-buffer-limit`...).
    case special
}

enum ConfigMutability: Sendable {
    case mutable
    /// Set only at startup (`can't set immutable config`).
    case immutable
    /// Settable only with `enable-protected-configs` (`can't set protected config`).
    case protected
}

/// One Redis 7.0 configuration parameter.
struct ConfigParameter: Sendable {
    let name: String
    let alias: String?
    let kind: ConfigKind
    let defaultValue: String
    let mutability: ConfigMutability

    init(
        _ name: String, alias: String? = nil, _ kind: ConfigKind, _ defaultValue: String,
        _ mutability: ConfigMutability = .mutable
    ) {
        self.name = name
        self.alias = alias
        self.kind = kind
        self.defaultValue = defaultValue
        self.mutability = mutability
    }
}

/// A validated value: its canonical text (what CONFIG GET prints) and its number for numeric kinds.
struct ConfigValue {
    var text: String
    var number: Int64 = 0
    var bool: Bool { text == "yes" }
}

enum ConfigTable {
    /// Every parameter `CONFIG GET *` lists in Redis 7.0.15 (aliases ride on their parameter).
    static let parameters: [ConfigParameter] = [
        ConfigParameter("acl-pubsub-default", .enumeration(["allchannels", "resetchannels"]), "resetchannels"),
        ConfigParameter("aclfile", .string, "", .immutable),
        ConfigParameter("acllog-max-len", .integer(0, Int64.max), "128"),
        ConfigParameter("active-defrag-cycle-max", .integer(1, 99), "25"),
        ConfigParameter("active-defrag-cycle-min", .integer(1, 99), "1"),
        ConfigParameter("active-defrag-ignore-bytes", .memory(1, Int64.max), "104857600"),
        ConfigParameter("active-defrag-max-scan-fields", .integer(1, Int64.max), "1000"),
        ConfigParameter("active-defrag-threshold-lower", .integer(0, 1000), "10"),
        ConfigParameter("active-defrag-threshold-upper", .integer(0, 1000), "100"),
        ConfigParameter("active-expire-effort", .integer(1, 10), "1"),
        ConfigParameter("activedefrag", .bool, "no"),
        ConfigParameter("activerehashing", .bool, "yes"),
        ConfigParameter("always-show-logo", .bool, "no", .immutable),
        ConfigParameter("aof-disable-auto-gc", .bool, "no"),
        ConfigParameter("aof-load-truncated", .bool, "yes"),
        ConfigParameter("aof-rewrite-incremental-fsync", .bool, "yes"),
        ConfigParameter("aof-timestamp-enabled", .bool, "no"),
        ConfigParameter("aof-use-rdb-preamble", .bool, "yes"),
        ConfigParameter("aof_rewrite_cpulist", .string, "", .immutable),
        ConfigParameter("appenddirname", .string, "appendonlydir", .immutable),
        ConfigParameter("appendfilename", .string, "appendonly.aof", .immutable),
        ConfigParameter("appendfsync", .enumeration(["everysec", "always", "no"]), "everysec"),
        ConfigParameter("appendonly", .bool, "no"),
        ConfigParameter("auto-aof-rewrite-min-size", .memory(0, Int64.max), "67108864"),
        ConfigParameter("auto-aof-rewrite-percentage", .integer(0, 2_147_483_647), "100"),
        ConfigParameter("bgsave_cpulist", .string, "", .immutable),
        ConfigParameter("bind", .special, "* -::*"),
        ConfigParameter("bind-source-addr", .string, ""),
        ConfigParameter("bio_cpulist", .string, "", .immutable),
        ConfigParameter("busy-reply-threshold", alias: "lua-time-limit", .integer(0, Int64.max), "5000"),
        ConfigParameter(
            "client-output-buffer-limit", .special,
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
        ConfigParameter("client-query-buffer-limit", .memory(1_048_576, Int64.max), "1073741824"),
        ConfigParameter("cluster-allow-pubsubshard-when-down", .bool, "yes"),
        ConfigParameter("cluster-allow-reads-when-down", .bool, "no"),
        ConfigParameter("cluster-allow-replica-migration", .bool, "yes"),
        ConfigParameter("cluster-announce-bus-port", .integer(0, 65535), "0"),
        ConfigParameter("cluster-announce-hostname", .special, ""),
        ConfigParameter("cluster-announce-ip", .string, ""),
        ConfigParameter("cluster-announce-port", .integer(0, 65535), "0"),
        ConfigParameter("cluster-announce-tls-port", .integer(0, 65535), "0"),
        ConfigParameter("cluster-config-file", .string, "nodes.conf", .immutable),
        ConfigParameter("cluster-enabled", .bool, "no", .immutable),
        ConfigParameter("cluster-link-sendbuf-limit", .memory(0, Int64.max), "0"),
        ConfigParameter("cluster-migration-barrier", .integer(0, 2_147_483_647), "1"),
        ConfigParameter("cluster-node-timeout", .integer(0, Int64.max), "15000"),
        ConfigParameter("cluster-port", .integer(0, 65535), "0", .immutable),
        ConfigParameter(
            "cluster-preferred-endpoint-type", .enumeration(["ip", "hostname", "unknown-endpoint"]), "ip"),
        ConfigParameter("cluster-replica-no-failover", alias: "cluster-slave-no-failover", .bool, "no"),
        ConfigParameter(
            "cluster-replica-validity-factor", alias: "cluster-slave-validity-factor",
            .integer(0, 2_147_483_647), "10"),
        ConfigParameter("cluster-require-full-coverage", .bool, "yes"),
        ConfigParameter("crash-log-enabled", .bool, "yes"),
        ConfigParameter("crash-memcheck-enabled", .bool, "yes"),
        ConfigParameter("daemonize", .bool, "no", .immutable),
        ConfigParameter("databases", .integer(1, 2_147_483_647), "16", .immutable),
        ConfigParameter("dbfilename", .string, "dump.rdb", .protected),
        ConfigParameter("dir", .string, ".", .protected),
        ConfigParameter("disable-thp", .bool, "yes", .immutable),
        ConfigParameter("dynamic-hz", .bool, "yes"),
        ConfigParameter("enable-debug-command", .enumeration(["no", "yes", "local"]), "local", .immutable),
        ConfigParameter("enable-module-command", .enumeration(["no", "yes", "local"]), "no", .immutable),
        ConfigParameter("enable-protected-configs", .enumeration(["no", "yes", "local"]), "no", .immutable),
        ConfigParameter(
            "hash-max-listpack-entries", alias: "hash-max-ziplist-entries", .integer(0, Int64.max), "512"),
        ConfigParameter("hash-max-listpack-value", alias: "hash-max-ziplist-value", .memory(0, Int64.max), "64"),
        ConfigParameter("hll-sparse-max-bytes", .memory(0, Int64.max), "3000"),
        ConfigParameter("hz", .integer(0, 2_147_483_647), "10"),
        ConfigParameter("ignore-warnings", .string, ""),
        ConfigParameter("io-threads", .integer(1, 128), "1", .immutable),
        ConfigParameter("io-threads-do-reads", .bool, "no", .immutable),
        ConfigParameter("jemalloc-bg-thread", .bool, "yes"),
        ConfigParameter("latency-monitor-threshold", .integer(0, Int64.max), "0"),
        ConfigParameter("latency-tracking", .bool, "yes"),
        ConfigParameter("latency-tracking-info-percentiles", .special, "50 99 99.9"),
        ConfigParameter("lazyfree-lazy-eviction", .bool, "no"),
        ConfigParameter("lazyfree-lazy-expire", .bool, "no"),
        ConfigParameter("lazyfree-lazy-server-del", .bool, "no"),
        ConfigParameter("lazyfree-lazy-user-del", .bool, "no"),
        ConfigParameter("lazyfree-lazy-user-flush", .bool, "no"),
        ConfigParameter("lfu-decay-time", .integer(0, 2_147_483_647), "1"),
        ConfigParameter("lfu-log-factor", .integer(0, 2_147_483_647), "10"),
        ConfigParameter("list-compress-depth", .integer(0, 2_147_483_647), "0"),
        ConfigParameter(
            "list-max-listpack-size", alias: "list-max-ziplist-size", .integer(-2_147_483_648, 2_147_483_647), "-2"),
        ConfigParameter("logfile", .string, "", .immutable),
        ConfigParameter("loglevel", .enumeration(["debug", "verbose", "notice", "warning"]), "notice"),
        ConfigParameter("masterauth", .string, ""),
        ConfigParameter("masteruser", .string, ""),
        ConfigParameter("maxclients", .integer(1, 4_294_967_295), "10000"),
        ConfigParameter("maxmemory", .memory(0, Int64.max), "0"),
        ConfigParameter("maxmemory-clients", .memoryOrPercent, "0"),
        ConfigParameter("maxmemory-eviction-tenacity", .integer(0, 100), "10"),
        ConfigParameter(
            "maxmemory-policy",
            .enumeration([
                "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu",
                "allkeys-random", "noeviction",
            ]), "noeviction"),
        ConfigParameter("maxmemory-samples", .integer(1, 2_147_483_647), "5"),
        ConfigParameter("min-replicas-max-lag", alias: "min-slaves-max-lag", .integer(0, 2_147_483_647), "10"),
        ConfigParameter("min-replicas-to-write", alias: "min-slaves-to-write", .integer(0, 2_147_483_647), "0"),
        ConfigParameter("no-appendfsync-on-rewrite", .bool, "no"),
        ConfigParameter("notify-keyspace-events", .special, ""),
        ConfigParameter("oom-score-adj", .enumeration(["no", "yes", "relative", "absolute"]), "no"),
        ConfigParameter("oom-score-adj-values", .special, "0 200 800"),
        ConfigParameter("pidfile", .string, "", .immutable),
        ConfigParameter("port", .integer(0, 65535), "6379"),
        ConfigParameter("proc-title-template", .string, "{title} {listen-addr} {server-mode}"),
        ConfigParameter(
            "propagation-error-behavior", .enumeration(["ignore", "panic", "panic-on-replicas"]), "ignore"),
        ConfigParameter("protected-mode", .bool, "yes"),
        ConfigParameter("proto-max-bulk-len", .memory(1_048_576, Int64.max), "536870912"),
        ConfigParameter("rdb-del-sync-files", .bool, "no"),
        ConfigParameter("rdb-save-incremental-fsync", .bool, "yes"),
        ConfigParameter("rdbchecksum", .bool, "yes", .immutable),
        ConfigParameter("rdbcompression", .bool, "yes"),
        ConfigParameter("repl-backlog-size", .memory(1, Int64.max), "1048576"),
        ConfigParameter("repl-backlog-ttl", .integer(0, Int64.max), "3600"),
        ConfigParameter("repl-disable-tcp-nodelay", .bool, "no"),
        ConfigParameter("repl-diskless-load", .enumeration(["disabled", "on-empty-db", "swapdb"]), "disabled"),
        ConfigParameter("repl-diskless-sync", .bool, "yes"),
        ConfigParameter("repl-diskless-sync-delay", .integer(0, 2_147_483_647), "5"),
        ConfigParameter("repl-diskless-sync-max-replicas", .integer(0, 2_147_483_647), "0"),
        ConfigParameter(
            "repl-ping-replica-period", alias: "repl-ping-slave-period", .integer(1, 2_147_483_647), "10"),
        ConfigParameter("repl-timeout", .integer(1, 2_147_483_647), "60"),
        ConfigParameter("replica-announce-ip", alias: "slave-announce-ip", .string, ""),
        ConfigParameter("replica-announce-port", alias: "slave-announce-port", .integer(0, 65535), "0"),
        ConfigParameter("replica-announced", .bool, "yes"),
        ConfigParameter("replica-ignore-disk-write-errors", .bool, "no"),
        ConfigParameter("replica-ignore-maxmemory", alias: "slave-ignore-maxmemory", .bool, "yes"),
        ConfigParameter("replica-lazy-flush", alias: "slave-lazy-flush", .bool, "no"),
        ConfigParameter("replica-priority", alias: "slave-priority", .integer(0, 2_147_483_647), "100"),
        ConfigParameter("replica-read-only", alias: "slave-read-only", .bool, "yes"),
        ConfigParameter("replica-serve-stale-data", alias: "slave-serve-stale-data", .bool, "yes"),
        ConfigParameter("replicaof", alias: "slaveof", .special, "", .immutable),
        ConfigParameter("requirepass", .special, ""),
        ConfigParameter("sanitize-dump-payload", .enumeration(["no", "yes", "clients"]), "no"),
        ConfigParameter("save", .special, ""),
        ConfigParameter("server_cpulist", .string, "", .immutable),
        ConfigParameter("set-max-intset-entries", .integer(0, Int64.max), "512"),
        ConfigParameter("set-proc-title", .bool, "yes", .immutable),
        ConfigParameter(
            "shutdown-on-sigint", .enumeration(["default", "save", "nosave", "now", "force"]), "default"),
        ConfigParameter(
            "shutdown-on-sigterm", .enumeration(["default", "save", "nosave", "now", "force"]), "default"),
        ConfigParameter("shutdown-timeout", .integer(0, 2_147_483_647), "10"),
        ConfigParameter("slowlog-log-slower-than", .integer(-1, Int64.max), "10000"),
        ConfigParameter("slowlog-max-len", .integer(0, Int64.max), "128"),
        ConfigParameter("socket-mark-id", .integer(0, 4_294_967_295), "0", .immutable),
        ConfigParameter("stop-writes-on-bgsave-error", .bool, "yes"),
        ConfigParameter("stream-node-max-bytes", .memory(0, Int64.max), "4096"),
        ConfigParameter("stream-node-max-entries", .integer(0, Int64.max), "100"),
        ConfigParameter("supervised", .enumeration(["upstart", "systemd", "auto", "no"]), "no", .immutable),
        ConfigParameter("syslog-enabled", .bool, "no", .immutable),
        ConfigParameter(
            "syslog-facility",
            .enumeration(["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"]),
            "local0", .immutable),
        ConfigParameter("syslog-ident", .string, "redis", .immutable),
        ConfigParameter("tcp-backlog", .integer(0, 2_147_483_647), "511", .immutable),
        ConfigParameter("tcp-keepalive", .integer(0, 2_147_483_647), "300"),
        ConfigParameter("timeout", .integer(0, 2_147_483_647), "0"),
        ConfigParameter("tls-auth-clients", .enumeration(["no", "yes", "optional"]), "yes"),
        ConfigParameter("tls-ca-cert-dir", .string, ""),
        ConfigParameter("tls-ca-cert-file", .string, ""),
        ConfigParameter("tls-cert-file", .string, ""),
        ConfigParameter("tls-ciphers", .string, ""),
        ConfigParameter("tls-ciphersuites", .string, ""),
        ConfigParameter("tls-client-cert-file", .string, ""),
        ConfigParameter("tls-client-key-file", .string, ""),
        ConfigParameter("tls-client-key-file-pass", .string, ""),
        ConfigParameter("tls-cluster", .bool, "no"),
        ConfigParameter("tls-dh-params-file", .string, ""),
        ConfigParameter("tls-key-file", .string, ""),
        ConfigParameter("tls-key-file-pass", .string, ""),
        ConfigParameter("tls-port", .integer(0, 65535), "0"),
        ConfigParameter("tls-prefer-server-ciphers", .bool, "no"),
        ConfigParameter("tls-protocols", .string, ""),
        ConfigParameter("tls-replication", .bool, "no"),
        ConfigParameter("tls-session-cache-size", .integer(0, 2_147_483_647), "20480"),
        ConfigParameter("tls-session-cache-timeout", .integer(0, 2_147_483_647), "300"),
        ConfigParameter("tls-session-caching", .bool, "yes"),
        ConfigParameter("tracking-table-max-keys", .integer(0, Int64.max), "1000000"),
        ConfigParameter("unixsocket", .string, "", .immutable),
        ConfigParameter("unixsocketperm", .special, "0", .immutable),
        ConfigParameter(
            "zset-max-listpack-entries", alias: "zset-max-ziplist-entries", .integer(0, Int64.max), "128"),
        ConfigParameter("zset-max-listpack-value", alias: "zset-max-ziplist-value", .memory(0, Int64.max), "64"),
    ]

    /// Every parameter by lowercase name and alias.
    static let byName: [String: ConfigParameter] = {
        var table: [String: ConfigParameter] = [:]
        for parameter in parameters {
            table[parameter.name] = parameter
            if let alias = parameter.alias { table[alias] = parameter }
        }
        return table
    }()

    /// Every name CONFIG GET patterns are matched against, with its parameter.
    static let namesForMatching: [(name: String, parameter: ConfigParameter)] = parameters.flatMap { parameter in
        [(parameter.name, parameter)] + (parameter.alias.map { [($0, parameter)] } ?? [])
    }

    static func lookup(_ name: String) -> ConfigParameter? { byName[name.lowercased()] }
}

// MARK: - Values

extension ConfigKind {
    /// Validates `text` and returns its canonical form, or the reason Redis gives.
    func parse(_ text: String, parameter: String) throws(ConfigError) -> ConfigValue {
        switch self {
        case .bool:
            switch text.lowercased() {
            case "yes": return ConfigValue(text: "yes", number: 1)
            case "no": return ConfigValue(text: "no", number: 0)
            default: throw ConfigError(reason: "argument must be 'yes' or 'no'")
            }
        case .integer(let low, let high):
            guard let value = Int64(redisInteger: text) else {
                throw ConfigError(reason: "argument couldn't be parsed into an integer")
            }
            try Self.checkBounds(value, low, high)
            return ConfigValue(text: String(value), number: value)
        case .memory(let low, let high):
            guard let value = ConfigKind.parseMemory(text) else {
                throw ConfigError(reason: "argument must be a memory value")
            }
            try Self.checkBounds(value, low, high)
            return ConfigValue(text: String(value), number: value)
        case .memoryOrPercent:
            if let value = ConfigKind.parseMemory(text) {
                return ConfigValue(text: String(value), number: value)
            }
            if text.utf8.count > 1, text.hasSuffix("%"), let percent = Int64(redisInteger: String(text.dropLast())),
                percent >= 0
            {
                return ConfigValue(text: "\(percent)%", number: -percent)
            }
            throw ConfigError(reason: "argument must be a memory or percent value")
        case .enumeration(let names):
            let lower = text.lowercased()
            guard names.contains(lower) else {
                throw ConfigError(
                    reason: "argument(s) must be one of the following: \(names.joined(separator: ", "))")
            }
            return ConfigValue(text: lower)
        case .string:
            return ConfigValue(text: text)
        case .special:
            return try ConfigKind.parseSpecial(text, parameter: parameter)
        }
    }

    private static func checkBounds(_ value: Int64, _ low: Int64, _ high: Int64) throws(ConfigError) {
        guard value >= low && value <= high else {
            throw ConfigError(reason: "argument must be between \(low) and \(high) inclusive")
        }
    }

    /// Redis's `memtoull`: digits with an optional unit (b, k, kb, m, mb, g, gb; k = 1000, kb = 1024).
    static func parseMemory(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.first != UInt8(ascii: "-") else { return nil }
        var index = 0
        while index < bytes.count && bytes[index] >= UInt8(ascii: "0") && bytes[index] <= UInt8(ascii: "9") {
            index += 1
        }
        let unit = String(decoding: bytes[index...], as: UTF8.self).lowercased()
        let multiplier: UInt64
        switch unit {
        case "", "b": multiplier = 1
        case "k": multiplier = 1000
        case "kb": multiplier = 1024
        case "m": multiplier = 1000 * 1000
        case "mb": multiplier = 1024 * 1024
        case "g": multiplier = 1000 * 1000 * 1000
        case "gb": multiplier = 1024 * 1024 * 1024
        default: return nil
        }
        guard index > 0, let digits = UInt64(String(decoding: bytes[..<index], as: UTF8.self)) else { return nil }
        let (product, overflow) = digits.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        return Int64(truncatingIfNeeded: product)
    }

    private static func parseSpecial(_ text: String, parameter: String) throws(ConfigError) -> ConfigValue {
        let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        switch parameter {
        case "save":
            guard words.count % 2 == 0 else { throw ConfigError(reason: "Invalid save parameters") }
            var numbers: [String] = []
            for word in words {
                guard let value = Int64(redisInteger: word), value >= 0, value <= Int64(Int32.max) else {
                    throw ConfigError(reason: "Invalid save parameters")
                }
                numbers.append(String(value))
            }
            return ConfigValue(text: numbers.joined(separator: " "))
        case "client-output-buffer-limit":
            var limits = ClientOutputBufferLimits()
            try limits.apply(words)
            return ConfigValue(text: text)
        case "notify-keyspace-events":
            guard let flags = KeyspaceEventClasses(classes: text) else {
                throw ConfigError(reason: "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
            }
            return ConfigValue(text: flags.classes, number: Int64(flags.rawValue))
        case "bind":
            guard words.count <= 16 else { throw ConfigError(reason: "Too many bind addresses specified.") }
            return ConfigValue(text: words.joined(separator: " "))
        case "oom-score-adj-values":
            guard words.count == 3 else { throw ConfigError(reason: "wrong number of arguments") }
            var values: [String] = []
            for word in words {
                guard let value = Int64(redisInteger: word), value >= -2000, value <= 2000 else {
                    throw ConfigError(reason: "Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
                }
                values.append(String(value))
            }
            return ConfigValue(text: values.joined(separator: " "))
        case "latency-tracking-info-percentiles":
            var values: [String] = []
            for word in words {
                guard let value = Double(word), value.isFinite else {
                    throw ConfigError(reason: "Invalid latency-tracking-info-percentiles parameters")
                }
                guard value >= 0, value <= 100 else {
                    throw ConfigError(
                        reason: "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
                }
                values.append(String(format: "%g", value))
            }
            return ConfigValue(text: values.joined(separator: " "))
        case "cluster-announce-hostname":
            let valid = text.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            }
            guard valid else {
                throw ConfigError(reason: "Hostnames may only contain alphanumeric characters, hyphens or dots")
            }
            return ConfigValue(text: text)
        case "unixsocketperm":
            guard let value = Int64(text, radix: 8), value >= 0, value <= 0o777 else {
                throw ConfigError(reason: "argument must be between 0 and 777 inclusive")
            }
            return ConfigValue(text: String(value, radix: 8), number: value)
        default:
            return ConfigValue(text: text)
        }
    }
}

extension Int64 {
    /// Redis's `string2ll`: optional `-`, digits, no leading zeros or spaces, no overflow.
    init?(redisInteger text: String) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
        if bytes.count == 1 && bytes[0] == UInt8(ascii: "0") {
            self = 0
            return
        }
        var index = 0
        let negative = bytes[0] == UInt8(ascii: "-")
        if negative { index = 1 }
        guard index < bytes.count, bytes[index] >= UInt8(ascii: "1"), bytes[index] <= UInt8(ascii: "9") else {
            return nil
        }
        var magnitude: UInt64 = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            let (times, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (plus, o2) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !o1 && !o2 else { return nil }
            magnitude = plus
            index += 1
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            self = magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        } else {
            guard magnitude <= UInt64(Int64.max) else { return nil }
            self = Int64(magnitude)
        }
    }
}

extension ClientOutputBufferLimits {
    /// Applies `class hard soft seconds` groups with Redis's checks and error texts.
    mutating func apply(_ words: [String]) throws(ConfigError) {
        guard words.count % 4 == 0 else {
            throw ConfigError(reason: "Wrong number of arguments in buffer limit configuration.")
        }
        var updated = self
        var index = 0
        while index < words.count {
            let className = words[index].lowercased()
            guard ["normal", "slave", "replica", "pubsub"].contains(className) else {
                throw ConfigError(reason: "Invalid client class specified in buffer limit configuration.")
            }
            guard let hard = ConfigKind.parseMemory(words[index + 1]), let soft = ConfigKind.parseMemory(words[index + 2]),
                let seconds = Int64(redisInteger: words[index + 3]), seconds >= 0
            else {
                throw ConfigError(reason: "Error in hard, soft or soft_seconds setting in buffer limit configuration.")
            }
            let limit = Limit(hard: Int(hard), soft: Int(soft), softSeconds: Int(seconds))
            switch className {
            case "normal": updated.normal = limit
            case "pubsub": updated.pubsub = limit
            default: updated.replica = limit
            }
            index += 4
        }
        self = updated
    }

    /// As CONFIG GET prints it.
    var text: String {
        func format(_ name: String, _ limit: Limit) -> String {
            "\(name) \(limit.hard) \(limit.soft) \(limit.softSeconds)"
        }
        return [format("normal", normal), format("slave", replica), format("pubsub", pubsub)].joined(separator: " ")
    }
}

// MARK: - Reading and writing NodeConfiguration

extension NodeConfiguration {
    /// The value CONFIG GET prints for `parameter`. `listeningPort` stands in when `port` is 0.
    func value(of parameter: ConfigParameter, listeningPort: Int? = nil) -> String {
        switch parameter.name {
        case "bind": return bind.split(separator: ",").joined(separator: " ")
        case "port": return String(port == 0 ? (listeningPort ?? 0) : port)
        case "cluster-enabled": return clusterEnabled ? "yes" : "no"
        case "dir":
            return URL(fileURLWithPath: directory).standardizedFileURL.path
        case "databases": return String(databases)
        case "maxclients": return String(maxClients)
        case "client-query-buffer-limit": return String(clientQueryBufferLimit)
        case "client-output-buffer-limit": return outputBufferLimits.text
        case "proto-max-bulk-len": return String(protocolLimits.maxBulkLength)
        case "slowlog-log-slower-than": return String(slowlogSlowerThan)
        case "slowlog-max-len": return String(slowlogMaxLength)
        case "cluster-node-timeout": return String(clusterNodeTimeout)
        case "timeout": return String(timeout)
        case "tcp-keepalive": return String(tcpKeepalive)
        case "maxmemory": return String(maxMemory)
        case "maxmemory-policy": return maxMemoryPolicy
        case "requirepass": return requirePass ?? ""
        case "notify-keyspace-events": return notifyKeyspaceEvents.classes
        case "enable-debug-command": return enableDebugCommand
        case "latency-monitor-threshold": return String(latencyMonitorThreshold)
        case "hash-max-listpack-entries": return String(hashMaxListpackEntries)
        case "hash-max-listpack-value": return String(hashMaxListpackValue)
        case "set-max-intset-entries": return String(setMaxIntsetEntries)
        case "zset-max-listpack-entries": return String(zsetMaxListpackEntries)
        case "zset-max-listpack-value": return String(zsetMaxListpackValue)
        case "list-max-listpack-size": return String(listMaxListpackSize)
        case "list-compress-depth": return String(listCompressDepth)
        case "stream-node-max-bytes": return String(streamNodeMaxBytes)
        case "stream-node-max-entries": return String(streamNodeMaxEntries)
        case "save": return save
        case "appendonly": return appendOnly ? "yes" : "no"
        case "dbfilename": return dbFilename
        default: return otherParameters[parameter.name] ?? parameter.defaultValue
        }
    }

    /// Sets a parameter from a CONFIG SET value or a config file line, with Redis's validation. Immutable and
    /// protected parameters are refused unless `fromFile`.
    mutating func apply(directive: String, value: String, fromFile: Bool) throws(ConfigError) {
        guard let parameter = ConfigTable.lookup(directive) else {
            throw ConfigError(reason: "Bad directive or wrong number of arguments")
        }
        if !fromFile {
            switch parameter.mutability {
            case .immutable: throw ConfigError(reason: "can't set immutable config")
            case .protected: throw ConfigError(reason: "can't set protected config")
            case .mutable: break
            }
        }
        let parsed = try parameter.kind.parse(value, parameter: parameter.name)
        let number = Int(parsed.number)
        switch parameter.name {
        case "bind":
            let requested = parsed.text.split(separator: " ").joined(separator: ",")
            if fromFile {
                bind = requested
            } else if requested != bind {
                // Rebinding a running node's listener is not supported.
                throw ConfigError(reason: "Failed to bind to specified addresses.")
            }
        case "port":
            if fromFile {
                port = number
            } else if number != port {
                throw ConfigError(reason: "Unable to listen on this port")
            }
        case "cluster-enabled": clusterEnabled = parsed.bool
        case "dir": directory = parsed.text
        case "databases": databases = number
        case "maxclients": maxClients = number
        case "client-query-buffer-limit": clientQueryBufferLimit = number
        case "client-output-buffer-limit":
            try outputBufferLimits.apply(value.split(separator: " ").map(String.init))
        case "proto-max-bulk-len": protocolLimits.maxBulkLength = number
        case "slowlog-log-slower-than": slowlogSlowerThan = number
        case "slowlog-max-len": slowlogMaxLength = number
        case "cluster-node-timeout": clusterNodeTimeout = number
        case "timeout": timeout = number
        case "tcp-keepalive": tcpKeepalive = number
        case "maxmemory": maxMemory = number
        case "maxmemory-policy": maxMemoryPolicy = parsed.text
        case "requirepass": requirePass = parsed.text.isEmpty ? nil : parsed.text
        case "notify-keyspace-events": notifyKeyspaceEvents = KeyspaceEventClasses(rawValue: number)
        case "enable-debug-command": enableDebugCommand = parsed.text
        case "latency-monitor-threshold": latencyMonitorThreshold = number
        case "hash-max-listpack-entries": hashMaxListpackEntries = number
        case "hash-max-listpack-value": hashMaxListpackValue = number
        case "set-max-intset-entries": setMaxIntsetEntries = number
        case "zset-max-listpack-entries": zsetMaxListpackEntries = number
        case "zset-max-listpack-value": zsetMaxListpackValue = number
        case "list-max-listpack-size": listMaxListpackSize = number
        case "list-compress-depth": listCompressDepth = number
        case "stream-node-max-bytes": streamNodeMaxBytes = number
        case "stream-node-max-entries": streamNodeMaxEntries = number
        case "save": save = parsed.text
        case "appendonly": appendOnly = parsed.bool
        case "dbfilename": dbFilename = parsed.text
        default: otherParameters[parameter.name] = parsed.text
        }
    }
}

// MARK: - Config files

enum ConfigFile {
    /// Redis's `sdssplitargs`: words separated by spaces; "double quotes" with \n \r \t \b \a \\ \" \xHH
    /// escapes, 'single quotes' with \' only; a closing quote must be followed by a space. Nil when unbalanced.
    static func splitArguments(_ line: String) -> [String]? {
        let bytes = Array(line.utf8)
        var words: [String] = []
        var index = 0
        while true {
            while index < bytes.count && isSpace(bytes[index]) { index += 1 }
            guard index < bytes.count else { return words }
            var current: [UInt8] = []
            var inDouble = false
            var inSingle = false
            var done = false
            while !done {
                if inDouble {
                    guard index < bytes.count else { return nil }
                    let byte = bytes[index]
                    if byte == UInt8(ascii: "\\") && index + 3 < bytes.count && bytes[index + 1] == UInt8(ascii: "x")
                        && isHex(bytes[index + 2]) && isHex(bytes[index + 3])
                    {
                        current.append(hexValue(bytes[index + 2]) * 16 + hexValue(bytes[index + 3]))
                        index += 3
                    } else if byte == UInt8(ascii: "\\") && index + 1 < bytes.count {
                        index += 1
                        switch bytes[index] {
                        case UInt8(ascii: "n"): current.append(UInt8(ascii: "\n"))
                        case UInt8(ascii: "r"): current.append(UInt8(ascii: "\r"))
                        case UInt8(ascii: "t"): current.append(UInt8(ascii: "\t"))
                        case UInt8(ascii: "b"): current.append(8)
                        case UInt8(ascii: "a"): current.append(7)
                        default: current.append(bytes[index])
                        }
                    } else if byte == UInt8(ascii: "\"") {
                        if index + 1 < bytes.count && !isSpace(bytes[index + 1]) { return nil }
                        done = true
                    } else {
                        current.append(byte)
                    }
                } else if inSingle {
                    guard index < bytes.count else { return nil }
                    let byte = bytes[index]
                    if byte == UInt8(ascii: "\\") && index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "'") {
                        index += 1
                        current.append(UInt8(ascii: "'"))
                    } else if byte == UInt8(ascii: "'") {
                        if index + 1 < bytes.count && !isSpace(bytes[index + 1]) { return nil }
                        done = true
                    } else {
                        current.append(byte)
                    }
                } else {
                    guard index < bytes.count else { break }
                    switch bytes[index] {
                    case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"), 0:
                        done = true
                    case UInt8(ascii: "\""): inDouble = true
                    case UInt8(ascii: "'"): inSingle = true
                    default: current.append(bytes[index])
                    }
                }
                if index < bytes.count { index += 1 }
            }
            words.append(String(decoding: current, as: UTF8.self))
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
            || byte == UInt8(ascii: "\r") || byte == 11 || byte == 12
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "f"))
    }

    private static func hexValue(_ byte: UInt8) -> UInt8 {
        byte <= UInt8(ascii: "9") ? byte - UInt8(ascii: "0") : (byte | 0x20) - UInt8(ascii: "a") + 10
    }

    /// A value as a config file line argument: quoted (with Redis's `sdscatrepr` escapes) when empty or when it
    /// contains spaces, quotes or control characters.
    static func quote(_ value: String, always: Bool = false) -> String {
        let needsQuotes = always || value.isEmpty || value.utf8.contains {
            $0 <= 32 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "'") || $0 == UInt8(ascii: "\\") || $0 >= 127
        }
        guard needsQuotes else { return value }
        var text = "\""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): text += "\\\\"
            case UInt8(ascii: "\""): text += "\\\""
            case UInt8(ascii: "\n"): text += "\\n"
            case UInt8(ascii: "\r"): text += "\\r"
            case UInt8(ascii: "\t"): text += "\\t"
            case 7: text += "\\a"
            case 8: text += "\\b"
            default:
                if byte >= 32 && byte < 127 {
                    text.unicodeScalars.append(Unicode.Scalar(byte))
                } else {
                    text += String(format: "\\x%02x", byte)
                }
            }
        }
        return text + "\""
    }

    /// Redis's `rewriteConfigBytesOption` spelling: the largest of gb/mb/kb that divides the value.
    static func bytesText(_ value: Int64) -> String {
        let gb: Int64 = 1024 * 1024 * 1024
        let mb: Int64 = 1024 * 1024
        if value != 0 && value % gb == 0 { return "\(value / gb)gb" }
        if value != 0 && value % mb == 0 { return "\(value / mb)mb" }
        if value != 0 && value % 1024 == 0 { return "\(value / 1024)kb" }
        return String(value)
    }

    /// The config file lines for `parameter` at its current value.
    static func lines(for parameter: ConfigParameter, in configuration: NodeConfiguration) -> [String] {
        let value = configuration.value(of: parameter)
        let name = parameter.name
        switch parameter.kind {
        case .memory:
            return ["\(name) \(bytesText(Int64(value) ?? 0))"]
        case .special:
            switch name {
            case "save":
                let numbers = value.split(separator: " ")
                if numbers.isEmpty { return ["save \"\""] }
                return stride(from: 0, to: numbers.count - 1, by: 2).map { "save \(numbers[$0]) \(numbers[$0 + 1])" }
            case "client-output-buffer-limit":
                let limits = configuration.outputBufferLimits
                return [("normal", limits.normal), ("replica", limits.replica), ("pubsub", limits.pubsub)].map {
                    "\(name) \($0.0) \(bytesText(Int64($0.1.hard))) \(bytesText(Int64($0.1.soft))) \($0.1.softSeconds)"
                }
            case "bind", "oom-score-adj-values", "latency-tracking-info-percentiles", "unixsocketperm", "replicaof":
                return ["\(name) \(value)"]
            default:
                return ["\(name) \(quote(value, always: true))"]
            }
        case .string:
            return ["\(name) \(quote(value, always: true))"]
        default:
            return ["\(name) \(value)"]
        }
    }

    /// Redis's CONFIG REWRITE: keeps the file's comments and unknown lines, rewrites the first line of each
    /// parameter in place (dropping repeated ones), and appends parameters that differ from their defaults.
    static func rewrite(path: String, configuration: NodeConfiguration) throws {
        let old = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        var lines = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        let marker = "# Generated by CONFIG REWRITE"
        var written: Set<String> = []
        var output: [String] = []
        for line in lines {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed == marker { continue }
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), let words = splitArguments(trimmed),
                let directive = words.first, let parameter = ConfigTable.lookup(directive)
            else {
                output.append(line)
                continue
            }
            if written.insert(parameter.name).inserted {
                // A node started on port 0 (an ephemeral port) keeps the file's port line.
                if parameter.name == "port" && configuration.port == 0 {
                    output.append(line)
                } else {
                    output += self.lines(for: parameter, in: configuration)
                }
            }
        }
        var appended: [String] = []
        for parameter in ConfigTable.parameters where !written.contains(parameter.name) {
            let value = configuration.value(of: parameter)
            let defaultValue = (try? parameter.kind.parse(parameter.defaultValue, parameter: parameter.name).text)
                ?? parameter.defaultValue
            if parameter.name == "dir" || parameter.name == "port" && configuration.port == 0 { continue }
            if value != defaultValue {
                appended += self.lines(for: parameter, in: configuration)
            }
        }
        if !appended.isEmpty {
            while output.last == "" { output.removeLast() }
            output.append(marker)
            output += appended
        }
        let text = output.joined(separator: "\n") + "\n"
        let temporary = path + ".tmp-\(getpid())"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        if rename(temporary, path) != 0 {
            let error = String(cString: strerror(errno))
            unlink(temporary)
            throw ConfigError(reason: error)
        }
    }
}

// MARK: - Commands

func registerConfigCommands(_ handlers: inout CommandHandlers) {
    handlers.register("config|get") { (inv: inout Invocation) throws(RedisError) in
        let configuration = inv.node.configuration
        var matches: [(name: String, value: String)] = []
        var seen: Set<String> = []
        let listening = inv.session.localPort
        for index in 2..<inv.args.count {
            let pattern = inv.string(index)
            if !pattern.utf8.contains(where: { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "[") }) {
                guard let parameter = ConfigTable.lookup(pattern), !seen.contains(pattern) else { continue }
                seen.insert(pattern)
                matches.append((pattern, configuration.value(of: parameter, listeningPort: listening)))
                continue
            }
            for (name, parameter) in ConfigTable.namesForMatching where !seen.contains(name) {
                if RedisGlob.matches(pattern: inv.args[index], ByteBuffer(string: name), noCase: true) {
                    seen.insert(name)
                    matches.append((name, configuration.value(of: parameter, listeningPort: listening)))
                }
            }
        }
        inv.reply.map(matches.count)
        for (name, value) in matches {
            inv.reply.bulk(name)
            inv.reply.bulk(value)
        }
    }
    handlers.register("config|set") { (inv: inout Invocation) throws(RedisError) in
        guard inv.args.count % 2 == 0 else { throw .syntax }
        let pairs = stride(from: 2, to: inv.args.count, by: 2).map { (inv.string($0), inv.string($0 + 1)) }
        try inv.node.configSet(pairs)
        inv.reply.ok()
    }
    handlers.register("config|resetstat") { (inv: inout Invocation) throws(RedisError) in
        inv.node.resetStatistics()
        inv.reply.ok()
    }
    handlers.register("config|rewrite") { (inv: inout Invocation) throws(RedisError) in
        guard let path = inv.node.configuration.configFile else {
            throw RedisError("ERR The server is running without a config file")
        }
        do {
            try ConfigFile.rewrite(path: path, configuration: inv.node.configuration)
        } catch let error as ConfigError {
            throw RedisError("ERR Rewriting config file: \(error.reason)")
        } catch {
            throw RedisError("ERR Rewriting config file: \(error.localizedDescription)")
        }
        inv.reply.ok()
    }
    handlers.register("config|help") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.help([
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ])
    }
}

extension NodeState {
    /// CONFIG SET's semantics for `(name, value)` pairs: all are validated before any is applied, with Redis's
    /// error texts. Shared by the command and the admin endpoint. Called under the lock.
    func configSet(_ pairs: [(name: String, value: String)]) throws(RedisError) {
        var typed: Set<String> = []
        var parameters: [(parameter: ConfigParameter, value: String)] = []
        for (name, value) in pairs {
            guard let parameter = ConfigTable.lookup(name) else {
                throw RedisError("ERR Unknown option or number of arguments for CONFIG SET - '\(name)'")
            }
            switch parameter.mutability {
            case .immutable: throw configSetFailed(parameter.name, "can't set immutable config")
            case .protected: throw configSetFailed(parameter.name, "can't set protected config")
            case .mutable: break
            }
            guard typed.insert(name.lowercased()).inserted else { throw configSetFailed(name, "duplicate parameter") }
            parameters.append((parameter, value))
        }
        var updated = configuration
        for (parameter, value) in parameters {
            do throws(ConfigError) {
                try updated.apply(directive: parameter.name, value: value, fromFile: false)
            } catch {
                throw configSetFailed(parameter.name, error.reason)
            }
        }
        updateConfiguration(updated)
    }
}

private func configSetFailed(_ name: String, _ reason: String) -> RedisError {
    RedisError("ERR CONFIG SET failed (possibly related to argument '\(name)') - \(reason)")
}

extension ReplyWriter {
    /// A `HELP` reply as Redis builds it (`addReplyHelp`): the lines as status replies, then `HELP` and its text.
    mutating func help(_ lines: [String]) {
        array(lines.count + 2)
        for line in lines { simple(line) }
        simple("HELP")
        simple("    Prints this help.")
    }
}

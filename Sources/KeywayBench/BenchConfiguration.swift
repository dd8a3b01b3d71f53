import Foundation

/// Everything one `keyway bench` run needs: where to connect, how much load, which commands and what to report.
///
/// A plain value: the CLI fills it from flags, tests fill it directly; `validate()` checks it before a run.
public struct BenchConfiguration: Sendable {
    /// A host and port.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

        /// Parses `host:port` (`[v6]:port` for IPv6).
        public static func parse(_ text: String) throws(BenchConfigurationError) -> Endpoint {
            guard let colon = text.lastIndex(of: ":") else {
                throw BenchConfigurationError("\(text): expected host:port")
            }
            var host = String(text[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
                throw BenchConfigurationError("\(text): expected host:port with a port in 1...65535")
            }
            return Endpoint(host: host, port: port)
        }
    }

    /// One address, or a Redis Cluster discovered from a seed node.
    public enum Target: Sendable, Hashable {
        case single(Endpoint)
        case cluster(seeds: [Endpoint])
    }

    /// What the clients send.
    public enum Workload: Sendable, Hashable {
        /// redis-benchmark-style tests, run one after another.
        case tests([BuiltinTest])
        /// One mixed test of SET and GET in the ratio `sets:gets` (memtier's `--ratio`).
        case mixed(sets: Int, gets: Int)
        /// A command template: `__key__` (or `__rand_int__`) is replaced by a key number, `__data__` by a value.
        case custom([String])
    }

    /// The phases of `--verify`.
    public enum VerifyPhase: String, Sendable, Hashable, CaseIterable {
        /// Write every key, then read every key back.
        case all
        /// Only write (a later `read` run with the same generation checks).
        case write
        /// Only read back and check values written by an earlier `write` run with the same generation.
        case read
    }

    public var target: Target = .single(Endpoint(host: "127.0.0.1", port: 6379))
    /// Connections (per node in cluster mode), like redis-benchmark's `-c`.
    public var clients = 50
    /// Event loop threads.
    public var threads = 1
    /// Requests each client keeps in flight.
    public var pipeline = 1
    /// Requests per test (after warmup); nil with a duration.
    public var requests: Int? = 100_000
    /// Seconds per test (after warmup); takes precedence over `requests` when both are set.
    public var duration: Double?
    /// Open loop: requests per second over all clients, each timed from its intended send time.
    public var rate: Double?
    /// Number of distinct key numbers, 0 ..< keyspace.
    public var keyspace = 100_000
    public var keyPattern: KeyPattern = .uniform
    public var dataSize: DataSize = .fixed(3)
    public var workload: Workload = .tests([.set, .get])
    /// Gives every key of one request the hash tag of its first key, so multi-key commands stay in one slot.
    public var hashTag = false
    /// Seconds of unrecorded load before each test.
    public var warmup: Double = 0
    public var user: String?
    public var password: String?
    /// RESP protocol version: 2, or 3 (sends `HELLO 3` on every connection).
    public var resp = 2
    /// Set to check data: write recomputable values, read them back, report every lost or changed key.
    public var verify: VerifyPhase?
    /// Mixed into verify values, so that values from an earlier run are not mistaken for this run's.
    public var generation: UInt64 = 1
    /// Seconds to wait for a connection (and its AUTH/HELLO) before giving up.
    public var connectTimeout: Double = 5
    /// Seconds without any reply while requests are outstanding before the run is abandoned.
    public var replyTimeout: Double = 10
    /// Seed of the key and value-size generators.
    public var randomSeed: UInt64 = 0x6B65_7977_6179
    /// Cluster mode without discovery: start as if the first seed owned every slot and learn the real owners
    /// from MOVED replies (how a lazy cluster client behaves; tests use it to exercise redirects).
    public var learnSlotsFromRedirects = false

    public init() {}

    /// Checks ranges and combinations; throws one clear message.
    public func validate() throws(BenchConfigurationError) {
        guard clients >= 1, clients <= 100_000 else { throw BenchConfigurationError("--clients must be in 1...100000") }
        guard threads >= 1, threads <= 256 else { throw BenchConfigurationError("--threads must be in 1...256") }
        guard pipeline >= 1, pipeline <= 100_000 else { throw BenchConfigurationError("--pipeline must be in 1...100000") }
        if let requests, requests < 1 { throw BenchConfigurationError("--requests must be at least 1") }
        if let duration, !(duration > 0) { throw BenchConfigurationError("--duration must be positive") }
        if requests == nil && duration == nil && verify == nil {
            throw BenchConfigurationError("give --requests or --duration")
        }
        if let rate, !(rate > 0) || !rate.isFinite { throw BenchConfigurationError("--rate must be positive") }
        guard keyspace >= 1, keyspace <= 999_999_999_999 else {
            throw BenchConfigurationError("--keyspace must be in 1...999999999999")
        }
        guard dataSize.minimum >= 0, dataSize.maximum <= 512 * 1024 * 1024, dataSize.minimum <= dataSize.maximum else {
            throw BenchConfigurationError("--data-size must be N or MIN-MAX with 0 <= MIN <= MAX <= 536870912")
        }
        guard warmup >= 0, warmup.isFinite else { throw BenchConfigurationError("--warmup must be 0 or more seconds") }
        guard resp == 2 || resp == 3 else { throw BenchConfigurationError("--resp must be 2 or 3") }
        guard connectTimeout > 0, replyTimeout > 0 else { throw BenchConfigurationError("timeouts must be positive") }
        switch workload {
        case .tests(let tests):
            if tests.isEmpty { throw BenchConfigurationError("--tests needs at least one test") }
        case .mixed(let sets, let gets):
            if sets < 0 || gets < 0 || sets + gets == 0 || sets + gets > 10_000 {
                throw BenchConfigurationError("--ratio must be SETS:GETS, two numbers >= 0 and not both 0")
            }
        case .custom(let arguments):
            if arguments.isEmpty { throw BenchConfigurationError("the command template after -- is empty") }
        }
        if case .cluster(let seeds) = target, seeds.isEmpty {
            throw BenchConfigurationError("--cluster needs --seed host:port")
        }
    }

    /// Parses `--tests`: comma-separated names (`set,get,lrange_100`...), case-insensitive.
    public static func parseTests(_ text: String) throws(BenchConfigurationError) -> [BuiltinTest] {
        var tests: [BuiltinTest] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: true) {
            let name = part.trimmingCharacters(in: .whitespaces).lowercased()
            let alias = name == "lrange" ? "lrange_100" : name
            guard let test = BuiltinTest(rawValue: alias) else {
                let known = BuiltinTest.allCases.map(\.rawValue).joined(separator: ",")
                throw BenchConfigurationError("unknown test '\(part)' (known: \(known))")
            }
            tests.append(test)
        }
        if tests.isEmpty { throw BenchConfigurationError("--tests needs at least one test") }
        return tests
    }

    /// Parses `--ratio SETS:GETS`, e.g. `1:10`.
    public static func parseRatio(_ text: String) throws(BenchConfigurationError) -> Workload {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let sets = Int(parts[0]), let gets = Int(parts[1]), sets >= 0, gets >= 0,
            sets + gets > 0
        else { throw BenchConfigurationError("--ratio \(text): expected SETS:GETS, e.g. 1:10") }
        return .mixed(sets: sets, gets: gets)
    }
}

/// How key numbers are drawn from `0 ..< keyspace`.
public enum KeyPattern: Sendable, Hashable, CustomStringConvertible {
    /// Every key equally likely.
    case uniform
    /// Each client walks the keyspace in order (client `c` of `C` takes `c`, `c + C`, `c + 2C`...).
    case sequential
    /// Zipf's law with exponent `s`: key `k` (from 0) has weight `1 / (k + 1)^s`.
    case zipf(Double)
    /// Normal around the middle of the keyspace with a standard deviation of a sixth of it (memtier's default).
    case gaussian

    /// Parses `uniform`, `sequential`, `zipf:S` (S > 0) or `gaussian`.
    public static func parse(_ text: String) throws(BenchConfigurationError) -> KeyPattern {
        let lower = text.lowercased()
        switch lower {
        case "uniform", "random": return .uniform
        case "sequential", "seq": return .sequential
        case "gaussian", "normal": return .gaussian
        case "zipf": return .zipf(0.99)
        default:
            if lower.hasPrefix("zipf:"), let s = Double(lower.dropFirst(5)), s > 0, s.isFinite, s <= 100 {
                return .zipf(s)
            }
            throw BenchConfigurationError("--key-pattern \(text): expected uniform, sequential, zipf:S (S > 0) or gaussian")
        }
    }

    public var description: String {
        switch self {
        case .uniform: return "uniform"
        case .sequential: return "sequential"
        case .zipf(let s): return "zipf:\(s)"
        case .gaussian: return "gaussian"
        }
    }
}

/// Value sizes in bytes: fixed, or uniform in a closed range.
public enum DataSize: Sendable, Hashable, CustomStringConvertible {
    case fixed(Int)
    case range(Int, Int)

    public var minimum: Int {
        switch self {
        case .fixed(let n): return n
        case .range(let a, _): return a
        }
    }

    public var maximum: Int {
        switch self {
        case .fixed(let n): return n
        case .range(_, let b): return b
        }
    }

    /// Parses `N` or `MIN-MAX`.
    public static func parse(_ text: String) throws(BenchConfigurationError) -> DataSize {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        if parts.count == 1, let n = Int(parts[0]), n >= 0 { return .fixed(n) }
        if parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a >= 0, a <= b {
            return a == b ? .fixed(a) : .range(a, b)
        }
        throw BenchConfigurationError("--data-size \(text): expected N or MIN-MAX (bytes, MIN <= MAX)")
    }

    public var description: String {
        switch self {
        case .fixed(let n): return "\(n)"
        case .range(let a, let b): return "\(a)-\(b)"
        }
    }
}

/// A bad flag value or combination, with the message to print.
public struct BenchConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

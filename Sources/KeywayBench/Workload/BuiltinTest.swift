/// The tests of redis-benchmark's `-t`, with the same commands and key names.
public enum BuiltinTest: String, Sendable, Hashable, CaseIterable {
    case ping, set, get, incr, lpush, rpush, lpop, rpop, sadd, hset, spop, zadd
    case lrange_100
    case mset

    /// The name in reports (redis-benchmark's, without its parenthesised notes).
    public var name: String {
        switch self {
        case .ping: return "PING_MBULK"
        case .lrange_100: return "LRANGE_100"
        case .mset: return "MSET"
        default: return rawValue.uppercased()
        }
    }

    /// The command template, in the placeholders of `RequestTemplate`.
    public var arguments: [String] {
        switch self {
        case .ping: return ["PING"]
        case .set: return ["SET", "key:__key__", "__data__"]
        case .get: return ["GET", "key:__key__"]
        case .incr: return ["INCR", "counter:__key__"]
        case .lpush: return ["LPUSH", "mylist", "__data__"]
        case .rpush: return ["RPUSH", "mylist", "__data__"]
        case .lpop: return ["LPOP", "mylist"]
        case .rpop: return ["RPOP", "mylist"]
        case .sadd: return ["SADD", "myset", "element:__key__"]
        case .hset: return ["HSET", "myhash", "element:__key__", "__data__"]
        case .spop: return ["SPOP", "myset"]
        case .zadd: return ["ZADD", "myzset", "__key__", "element:__key__"]
        case .lrange_100: return ["LRANGE", "mylist", "0", "99"]
        case .mset: return ["MSET"] + Array(repeating: ["key:__key__", "__data__"], count: 10).flatMap { $0 }
        }
    }
}

/// The hand-maintained part of the command table: what a Redis server does not publish.
///
/// Key procedures mirror Redis 7.0's `getkeys_proc` assignments; routing policies are Keyway's proxy decisions,
/// cross-checked in tests against Redis's `request_policy` / `response_policy` tips.
enum CommandOverlay {
    /// Redis 7.0's key procedure for a command (by full lowercase name).
    static func keyProcedure(for name: String) -> KeyProcedure {
        switch name {
        case "eval", "eval_ro", "evalsha", "evalsha_ro", "fcall", "fcall_ro":
            return .numKeys(storeKeyIndex: 0, countIndex: 2, firstKeyIndex: 3)
        case "zunion", "zinter", "zdiff", "zintercard", "sintercard", "lmpop", "zmpop":
            return .numKeys(storeKeyIndex: 0, countIndex: 1, firstKeyIndex: 2)
        case "blmpop", "bzmpop":
            return .numKeys(storeKeyIndex: 0, countIndex: 2, firstKeyIndex: 3)
        case "zunionstore", "zinterstore", "zdiffstore":
            return .numKeys(storeKeyIndex: 1, countIndex: 2, firstKeyIndex: 3)
        case "sort":
            return .sort
        case "sort_ro":
            return .sortReadOnly
        case "migrate":
            return .migrate
        case "georadius", "georadiusbymember":
            return .geoRadius
        case "xread", "xreadgroup":
            return .xread
        case "set", "bitfield":
            return .firstArgument
        default:
            return .none
        }
    }

    /// The proxy's routing policy for a command (by full lowercase name); `hasKeys` is the default's input:
    /// commands with keys go by slot, keyless ones to any node.
    static func routing(for name: String, hasKeys: Bool) -> RoutingPolicy {
        if let policy = explicitRouting(for: name) {
            return policy
        }
        if name.hasPrefix("client|") || name.hasPrefix("command|") {
            return .local
        }
        if name.hasPrefix("acl|") || name.hasPrefix("module|") || name.hasPrefix("cluster|") {
            return .unsupported
        }
        return hasKeys ? .singleSlot : .anyNode
    }

    private static func explicitRouting(for name: String) -> RoutingPolicy? {
        switch name {
        // Multi-key commands the proxy splits per slot.
        case "mget":
            return .splitByKey(.concatenateInOrder)
        case "mset":
            return .splitByKey(.allSucceeded)
        case "del", "unlink", "exists", "touch":
            return .splitByKey(.sumIntegers)
        // MSETNX is all-or-nothing, which a split cannot keep: it stays single-slot despite its multi_shard tip.

        // Keyspace-wide commands sent to every primary.
        case "dbsize":
            return .allPrimaries(.sumIntegers)
        case "keys":
            return .allPrimaries(.concatenateArrays)
        case "scan":
            return .allPrimaries(.scanCursor)
        case "flushall", "flushdb", "script|flush", "function|delete", "function|flush", "function|load",
            "function|restore", "memory|purge", "latency|reset", "slowlog|reset":
            return .allPrimaries(.allSucceeded)
        case "randomkey":
            return .allPrimaries(.anyNonNull)
        case "script|load":
            return .allPrimaries(.sameValue)
        case "script|exists":
            return .allPrimaries(.logicalAndPerPosition)
        case "script|kill", "function|kill":
            return .allPrimaries(.oneSucceeded)
        case "slowlog|len":
            return .allPrimaries(.sumIntegers)
        case "slowlog|get", "pubsub|shardchannels":
            return .allPrimaries(.concatenateArrays)

        // Answered by the proxy itself.
        case "ping", "echo", "select", "quit", "hello", "auth", "reset", "info", "command", "client",
            "config|get", "config|help", "readonly", "readwrite", "asking", "acl|whoami", "cluster|keyslot",
            "cluster|help", "cluster|info", "cluster|myid", "cluster|nodes", "cluster|slots", "cluster|shards":
            return .local

        // Session state.
        case "multi", "exec", "discard", "watch", "unwatch":
            return .transaction
        case "subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ssubscribe", "sunsubscribe":
            return .pubSub
        // SPUBLISH goes to the primary of the channel's slot: its channel is a `not_key` key spec.
        case "spublish":
            return .singleSlot

        // Keyless commands whose answer does not depend on the node.
        case "acl|cat", "acl|genpass", "acl|help", "module|help", "module|list":
            return .anyNode

        // Node administration, replication and per-connection server features the proxy refuses.
        case "config|set", "config|rewrite", "config|resetstat", "monitor", "sync", "psync",
            "replconf", "replicaof", "slaveof", "failover", "shutdown", "debug", "swapdb", "save", "bgsave",
            "bgrewriteaof", "wait", "migrate", "restore-asking", "pfdebug", "pfselftest", "script|debug",
            "pubsub|shardnumsub":
            return .unsupported
        default:
            return nil
        }
    }
}

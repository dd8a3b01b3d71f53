/// How the proxy routes one command, decided per command in `CommandSpec+Overlay.swift`.
///
/// Redis 7 publishes `request_policy` / `response_policy` tips for a few commands; this policy covers every
/// command, follows those tips where they exist, and adds what only a proxy needs (local answers, refusals).
public enum RoutingPolicy: Sendable, Hashable {
    /// Every key must hash to one slot (else `CROSSSLOT`); the command goes to that slot's primary.
    /// When a call has no keys (`EVAL s 0`), any primary may run it.
    case singleSlot
    /// The keys may span slots: the proxy splits the call per slot and merges the replies. Each key takes the
    /// arguments up to the next key with it (the key spec's `keyStep`: 1 for MGET/DEL, 2 for MSET).
    case splitByKey(SplitMerge)
    /// Sent to every primary; the replies are combined as described.
    case allPrimaries(FanOutReply)
    /// Keyless; any node may answer (the reply does not depend on which).
    case anyNode
    /// Answered by the proxy itself (PING, HELLO, AUTH, CLIENT, COMMAND, INFO, ...).
    case local
    /// MULTI / EXEC / DISCARD / WATCH / UNWATCH: the proxy pins the session to one primary for the transaction.
    case transaction
    /// SUBSCRIBE and friends: the session enters pub/sub mode on a backend connection of its own
    /// (the shard one, by channel slot, for SSUBSCRIBE / SUNSUBSCRIBE).
    case pubSub
    /// Refused by the proxy: node administration, replication and other commands that make no sense through it.
    case unsupported
}

/// How the replies of a command split by key are merged.
public enum SplitMerge: Sendable, Hashable {
    /// One reply element per key, returned in the client's key order (MGET).
    case concatenateInOrder
    /// Every part must succeed; the reply is that common reply (MSET: `+OK`).
    case allSucceeded
    /// The integer replies are added up (DEL, UNLINK, EXISTS, TOUCH).
    case sumIntegers
}

/// How the replies of a command sent to every primary are combined.
public enum FanOutReply: Sendable, Hashable {
    /// Every node must succeed; the reply is one of theirs (FLUSHALL, SCRIPT FLUSH: `+OK`).
    case allSucceeded
    /// The first successful reply; an error only when every node failed (SCRIPT KILL, FUNCTION KILL).
    case oneSucceeded
    /// The integer replies are added up (DBSIZE).
    case sumIntegers
    /// The smallest integer reply (WAIT-like aggregates).
    case minInteger
    /// Array replies of 0/1 combined position by position with a logical AND (SCRIPT EXISTS).
    case logicalAndPerPosition
    /// Array replies concatenated (KEYS).
    case concatenateArrays
    /// Any non-null reply, else null (RANDOMKEY).
    case anyNonNull
    /// Every node must return the same value, which is the reply (SCRIPT LOAD returns one SHA1).
    case sameValue
    /// SCAN across primaries: the proxy encodes the node in the cursor and walks the nodes in turn.
    case scanCursor
}

import RESP

/// Settings of a `keyway node`; each has a command-line flag and most can change at run time (CONFIG SET).
public struct NodeConfiguration: Sendable {
    public var bind: String = "127.0.0.1"
    public var port: Int = 6379
    public var clusterEnabled = false
    /// Where the cluster config (nodes.conf) and, later, snapshots and the AOF live.
    public var directory: String = "."
    /// Number of databases in standalone mode (cluster mode has only db 0, as Redis).
    public var databases = 16
    /// Event loops serving clients; defaults to one per core.
    public var threads = System.coreCountForNIO
    /// Maximum connected clients (`maxclients`).
    public var maxClients = 10_000
    /// Maximum bytes buffered from a client that has not sent a complete command (`client-query-buffer-limit`).
    public var clientQueryBufferLimit = 1024 * 1024 * 1024
    /// Output buffer hard limit for normal clients in bytes; 0 = unlimited (`client-output-buffer-limit normal`).
    public var outputBufferLimitNormal = 0
    /// Output buffer hard limit for pub/sub clients (`client-output-buffer-limit pubsub 32mb`).
    public var outputBufferLimitPubSub = 32 * 1024 * 1024
    /// Protocol limits (`proto-max-bulk-len` and friends).
    public var protocolLimits = RESPLimits.default
    /// Slow log threshold in microseconds (`slowlog-log-slower-than`), and its length.
    public var slowlogSlowerThan = 10_000
    public var slowlogMaxLength = 128
    /// Cluster node timeout in milliseconds.
    public var clusterNodeTimeout = 15_000

    public init() {}
}

import NIOCore

extension System {
    /// The number of cores, as SwiftNIO counts them.
    static var coreCountForNIO: Int { System.coreCount }
}

import ClusterModel
import NIOCore
import RESP

/// Where readonly commands go.
public enum ReadPolicy: String, Sendable, CaseIterable {
    /// Everything goes to the slot's primary (the default).
    case primary
    /// Readonly commands go to a healthy replica of the slot's shard, else to its primary.
    case preferReplica = "prefer-replica"
    /// Readonly commands go to a replica; the primary only when the shard has no healthy replica.
    case replica
}

/// Everything `keyway proxy` can be told; every limit is here and enforced.
public struct ProxyConfiguration: Sendable {
    public var bindHost = "127.0.0.1"
    public var port = 6380
    /// Cluster nodes to discover the topology from.
    public var seeds: [Endpoint] = []
    /// Event loops (threads); each owns its clients and its own backend connections.
    public var threads = EventLoopThreads.default
    /// Full topology refresh period.
    public var refreshInterval: TimeAmount = .seconds(10)
    /// Minimum time between two refreshes triggered by MOVED replies or failed backends.
    public var minRefreshInterval: TimeAmount = .milliseconds(200)
    /// Redirects (MOVED/ASK) and retries (TRYAGAIN/CLUSTERDOWN) one command may take before the proxy gives up.
    public var maxRedirects = 5
    /// First TRYAGAIN/CLUSTERDOWN backoff; doubled on each retry.
    public var retryBackoff: TimeAmount = .milliseconds(20)
    public var readPolicy: ReadPolicy = .primary
    /// Client connections accepted at once (Redis's `maxclients`).
    public var maxClients = 10_000
    /// Commands a client may have in flight; past it the proxy stops reading from that client.
    public var maxPipelineDepth = 1_024
    /// Request limits (bulk length, number of arguments, inline size).
    public var requestLimits = RESPLimits.default
    /// Bytes a client may send that do not yet make a complete command (Redis's `client-query-buffer-limit`).
    public var maxQueryBuffer = 1 << 30
    /// Clients idle for longer are closed; zero disables (Redis's `timeout`).
    public var idleTimeout: TimeAmount = .zero
    /// A backend that answers nothing for this long has its connection closed and its in-flight commands failed.
    public var backendTimeout: TimeAmount = .seconds(5)
    /// How long the first replies to a client's pipeline may wait for the rest, so that the pipeline's replies go
    /// out in one write (one wake-up of the client) instead of one per loop iteration in which some arrived; zero
    /// writes them every iteration. Only replies that are ready while others of the same client are still owed wait.
    public var replyHold: TimeAmount = .microseconds(500)
    /// Time allowed to open a backend connection.
    public var connectTimeout: TimeAmount = .seconds(1)
    /// Per-command counts, latency histograms, per-backend latency and the slow log (`--no-metrics` turns them
    /// off; connection and redirect counters are always kept).
    public var metricsEnabled = true
    /// Commands slower than this many microseconds (read to reply written) enter the slow log; negative: none
    /// (Redis's `slowlog-log-slower-than`).
    public var slowlogSlowerThan = 10_000
    /// Entries the slow log keeps per event loop (Redis's `slowlog-max-len`).
    public var slowlogMaxLength = 128

    public init() {}
}

import NIOCore

/// How many event loops the node and the proxy run unless told otherwise (`--threads`).
public enum EventLoopThreads {
    /// One per core but one, and at least one: the spare core is left to the kernel's network processing and the
    /// rest of the machine, as Redis advises for its I/O threads (on 4 cores use 2-3, on 8 use 6; none on fewer).
    /// Measured on 2 cores shared with redis-benchmark: one node loop served 10-25% more than two at `-P 16`
    /// (GET, SET) and the same at `-P 1`; one proxy loop 25% more at `-P 1`.
    public static var `default`: Int { max(1, System.coreCount - 1) }
}

import ClusterModel
import NIOCore
import RESP

/// Latency buckets shared by every proxy histogram: upper bounds from 50 µs to 10 s (the admin endpoint's
/// `KeywayMetrics.latencyBuckets`), plus one overflow bucket.
package enum LatencyBuckets {
    /// Upper bounds in nanoseconds.
    package static let upperBoundsNanoseconds: [UInt64] = [
        50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000,
        100_000_000, 250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000, 5_000_000_000, 10_000_000_000,
    ]
    /// Upper bounds in seconds, as exposed.
    package static var upperBoundsSeconds: [Double] { upperBoundsNanoseconds.map { Double($0) / 1e9 } }
    /// Buckets per histogram: the bounds and the overflow.
    package static let count = upperBoundsNanoseconds.count + 1

    /// The bucket of an observation (most land in the first few, so a linear scan is the fastest).
    @inline(__always)
    package static func index(ofNanoseconds nanoseconds: UInt64) -> Int {
        var index = 0
        while index < upperBoundsNanoseconds.count && nanoseconds > upperBoundsNanoseconds[index] { index += 1 }
        return index
    }
}

/// A latency histogram kept on one event loop: plain counters, no atomics.
package struct LatencyHistogram: Sendable {
    package var counts = [UInt64](repeating: 0, count: LatencyBuckets.count)
    package var sumNanoseconds: UInt64 = 0
    package var maxNanoseconds: UInt64 = 0

    package init() {}

    @inline(__always)
    mutating func record(nanoseconds: UInt64) {
        counts[LatencyBuckets.index(ofNanoseconds: nanoseconds)] &+= 1
        sumNanoseconds &+= nanoseconds
        if nanoseconds > maxNanoseconds { maxNanoseconds = nanoseconds }
    }

    package var total: UInt64 { counts.reduce(0, &+) }

    package mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] &+= other.counts[index] }
        sumNanoseconds &+= other.sumNanoseconds
        maxNanoseconds = max(maxNanoseconds, other.maxNanoseconds)
    }

    /// An estimate of the `quantile` (0...1) in nanoseconds: the upper bound of the bucket it falls in.
    package func quantileNanoseconds(_ quantile: Double) -> UInt64 {
        let total = self.total
        guard total > 0 else { return 0 }
        let rank = UInt64((Double(total) * quantile).rounded(.up))
        var seen: UInt64 = 0
        for (index, count) in counts.enumerated() {
            seen &+= count
            if seen >= max(rank, 1) {
                // Past the last bound: twice it, as a stand-in for "more than 10 s".
                return index < LatencyBuckets.upperBoundsNanoseconds.count
                    ? LatencyBuckets.upperBoundsNanoseconds[index] : 20_000_000_000
            }
        }
        return 0
    }
}

/// What a reply says about its command: `ok`, or the Redis error code it starts with.
package enum CommandResult {
    /// The label values, by index. `other` is any error code not listed.
    package static let labels = [
        "ok", "err", "wrongtype", "moved", "ask", "crossslot", "tryagain", "clusterdown", "noauth", "wrongpass",
        "readonly", "loading", "noscript", "busy", "oom", "execabort", "noperm", "timeout", "other",
    ]
    package static let count = labels.count
    static let other = labels.count - 1
    private static let codes: [[UInt8]] = labels.map { Array($0.uppercased().utf8) }

    /// The result index of a reply: 0 unless it is an error (`-CODE ...` or RESP3 `!len\r\nCODE ...`).
    @inline(__always)
    static func index(of reply: ByteBuffer) -> Int {
        guard let first = reply.getInteger(at: reply.readerIndex, as: UInt8.self),
            first == UInt8(ascii: "-") || first == UInt8(ascii: "!")
        else { return 0 }
        return errorIndex(of: reply, first: first)
    }

    private static func errorIndex(of reply: ByteBuffer, first: UInt8) -> Int {
        let view = reply.readableBytesView
        var start = view.startIndex + 1
        if first == UInt8(ascii: "!") {
            guard let lineEnd = view.firstIndex(of: UInt8(ascii: "\n")) else { return other }
            start = lineEnd + 1
        }
        var end = start
        while end < view.endIndex, end - start < 16 {
            let byte = view[end]
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\r") { break }
            end += 1
        }
        let code = view[start..<end]
        for index in 1..<(codes.count - 1) where code.elementsEqual(codes[index]) { return index }
        return other
    }
}

/// One slow command, as the proxy's slow log keeps it.
package struct ProxySlowlogEntry: Sendable {
    package var id: UInt64
    /// Wall-clock time the command was read, in seconds since 1970.
    package var startedAt: Double
    package var durationMicros: UInt64
    /// The command and its first arguments (at most 32, 128 bytes each, as Redis's SLOWLOG), as a RESP array made
    /// by `ProxySlowlog.capture(_:into:)`: one compact copy, decoded only when someone reads the slow log.
    package var captured: ByteBuffer
    package var client: String
    package var clientNameBytes: ByteBuffer?

    package var arguments: [String] { ProxySlowlog.arguments(ofCaptured: captured) }
    package var clientName: String { clientNameBytes.map { String(buffer: $0) } ?? "" }
}

/// One event loop's instrumentation: per-command counts by result and latency, the slow log, bytes in and out.
///
/// Updated only on its loop, with plain integers; the admin endpoint reads a copy taken on the loop and merges the
/// loops at scrape time, so the data plane pays no atomic operation or lock per request.
package struct CommandMetrics: Sendable {
    /// Commands of the table by `CommandNumbers` number; the last index counts unknown commands.
    package static let commandCount = CommandNumbers.redis70.count + 1
    package static var otherCommand: Int { commandCount - 1 }

    /// `counts[command * CommandResult.count + result]`.
    package var counts = [UInt64](repeating: 0, count: commandCount * CommandResult.count)
    /// Latency by command, from the read that brought the command to the write of its reply.
    package var latency = [LatencyHistogram](repeating: LatencyHistogram(), count: commandCount)

    package init() {}

    @inline(__always)
    mutating func record(command: Int, result: Int, nanoseconds: UInt64) {
        counts[command &* CommandResult.count &+ result] &+= 1
        latency[command].record(nanoseconds: nanoseconds)
    }

    package mutating func merge(_ other: CommandMetrics) {
        for index in counts.indices where other.counts[index] != 0 { counts[index] &+= other.counts[index] }
        for index in latency.indices where other.latency[index].maxNanoseconds != 0 || other.latency[index].total != 0 {
            latency[index].merge(other.latency[index])
        }
    }

    /// The label value of command `number`.
    package static func name(of number: Int) -> String {
        number < CommandNumbers.redis70.count ? CommandNumbers.redis70.specs[number].name : "other"
    }
}

/// The slow log of one event loop: the newest commands slower than the threshold.
struct ProxySlowlog {
    private(set) var entries: [ProxySlowlogEntry] = []
    private var next = 0

    /// Adds an entry, dropping the oldest past `maxLength`.
    mutating func push(_ entry: ProxySlowlogEntry, maxLength: Int) {
        guard maxLength > 0 else {
            entries.removeAll()
            return
        }
        if entries.count < maxLength {
            entries.append(entry)
        } else {
            entries[next % entries.count] = entry
            if entries.count > maxLength { entries.removeFirst(entries.count - maxLength) }
        }
        next &+= 1
    }

    /// Adds an entry for a slow command whose slow-log form is `captured` (a slice of the client's arena). Once the
    /// log is full, the evicted entry's buffer takes the copy, so that a steady stream of slow commands allocates
    /// nothing (unless an admin snapshot still holds that buffer); otherwise (filling, or shrunk) it goes to `push`.
    mutating func record(
        id: UInt64, startedAt: Double, durationMicros: UInt64, captured: ByteBuffer, client: String,
        clientName: ByteBuffer?, maxLength: Int
    ) {
        guard maxLength > 0, entries.count == maxLength else {
            var copy = ByteBufferAllocator().buffer(capacity: captured.readableBytes)
            copy.writeImmutableBuffer(captured)
            push(
                ProxySlowlogEntry(
                    id: id, startedAt: startedAt, durationMicros: durationMicros, captured: copy, client: client,
                    clientNameBytes: clientName),
                maxLength: maxLength)
            return
        }
        let slot = next % maxLength
        entries[slot].id = id
        entries[slot].startedAt = startedAt
        entries[slot].durationMicros = durationMicros
        entries[slot].captured.clear()
        entries[slot].captured.writeImmutableBuffer(captured)
        entries[slot].client = client
        entries[slot].clientNameBytes = clientName
        next &+= 1
    }

    mutating func reset() {
        entries.removeAll()
        next = 0
    }

    /// Appends `request`'s arguments in the slow-log form (`SlowlogForm`), as a RESP array, to `arena`; returns the
    /// bytes written. A request already in that form (most are) is copied as it came; the others are cut to it.
    @inline(__always)
    static func capture(_ request: RESPRequest, into arena: inout ByteBuffer) -> Int {
        let argv = request.arguments
        if let frame = request.frame,
            frame.readableBytes <= SlowlogForm.maxArgumentBytes
                || (argv.count <= SlowlogForm.maxArguments
                    && argv.allSatisfy { $0.readableBytes <= SlowlogForm.maxArgumentBytes })
        {
            return arena.writeImmutableBuffer(frame)
        }
        return writeCut(argv, into: &arena)
    }

    private static func writeCut(_ argv: [ByteBuffer], into arena: inout ByteBuffer) -> Int {
        let start = arena.writerIndex
        let count = SlowlogForm.keptCount(of: argv.count)
        arena.writeRESPHeader(.array, count)
        for index in 0..<count {
            arena.writeRESPBulkString(SlowlogForm.replacement(for: argv, at: index) ?? argv[index])
        }
        return arena.writerIndex - start
    }

    /// The arguments of a command captured by `capture(_:into:)`.
    static func arguments(ofCaptured captured: ByteBuffer) -> [String] {
        var captured = captured
        var decoder = RESPRequestDecoder(limits: .unlimited)
        guard let request = try? decoder.decode(&captured) else { return [] }
        return request.arguments.map { String(decoding: $0.readableBytesView, as: UTF8.self) }
    }
}

/// Per-backend instrumentation of one event loop, shared by the loop's connections to that backend.
final class BackendStats {
    var requests: UInt64 = 0
    var errors: UInt64 = 0
    var lastError: String?
    var latency = LatencyHistogram()
    /// The loop's clock, read when replies arrive.
    let clock: LoopClock

    init(clock: LoopClock) {
        self.clock = clock
    }
}

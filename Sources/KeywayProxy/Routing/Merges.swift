import ClusterModel
import NIOCore
import RESP

extension RESPToken {
    /// True for `-...` and `!...` replies.
    var isError: Bool { type == .simpleError || type == .bulkError }

    var integerValue: Int64? {
        if case .integer(let value) = value { return value }
        return nil
    }

    /// The elements of an array/set reply; nil for anything else.
    var elements: [RESPToken]? {
        switch value {
        case .array(let array), .set(let array), .push(let array): return Swift.Array(array)
        default: return nil
        }
    }

    var isNull: Bool {
        switch value {
        case .null, .nullBulkString, .nullArray: return true
        default: return false
        }
    }
}

/// Merges the parts of a command split by slot (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH) into one reply.
final class SplitMergeSink: ReplySink {
    private let client: ProxyClientHandler
    private let seq: Int
    private let mode: SplitMerge
    /// Which parts have answered (a part answers once; a second reply for it is ignored).
    private var answered: [Bool]
    private var remaining: Int
    /// The error of the lowest-numbered part that failed so far: the first error in the client's key order
    /// (parts are numbered by their first key).
    private var firstError: (part: Int, reply: RESPToken)?
    /// MSET: the reply of part 0, passed on when every part succeeded.
    private var firstReply: RESPToken?
    /// DEL, UNLINK, EXISTS, TOUCH: the sum so far; false once a part answered with no integer.
    private var total: Int64 = 0
    private var integersOnly = true
    /// MGET: every part's reply, kept until all are in.
    private var parts: [RESPToken?]
    /// For each key in the client's order: its part and its place in that part.
    private let keyPlacement: [(part: Int, index: Int)]

    init(client: ProxyClientHandler, seq: Int, mode: SplitMerge, parts: Int, keyPlacement: [(part: Int, index: Int)]) {
        self.client = client
        self.seq = seq
        self.mode = mode
        self.answered = Array(repeating: false, count: parts)
        self.parts = mode == .concatenateInOrder ? Array(repeating: nil, count: parts) : []
        self.remaining = parts
        self.keyPlacement = keyPlacement
    }

    func receive(_ reply: RESPToken, tag: Int) {
        guard tag < answered.count, !answered[tag] else { return }
        answered[tag] = true
        remaining -= 1
        if reply.isError {
            if firstError.map({ tag < $0.part }) ?? true { firstError = (tag, reply) }
        } else {
            switch mode {
            case .allSucceeded:
                if tag == 0 { firstReply = reply }
            case .sumIntegers:
                if let value = reply.integerValue { total &+= value } else { integersOnly = false }
            case .concatenateInOrder:
                parts[tag] = reply
            }
        }
        if remaining == 0 { finish() }
    }

    private func finish() {
        if let firstError {
            client.deliver(firstError.reply.base, seq: seq)
            return
        }
        var out = ByteBuffer()
        switch mode {
        case .allSucceeded:
            guard let firstReply else {
                client.reply(seq, error: "ERR unexpected reply from a backend to a split command")
                return
            }
            client.deliver(firstReply.base, seq: seq)
            return
        case .sumIntegers:
            guard integersOnly else {
                client.reply(seq, error: "ERR unexpected reply from a backend to a split command")
                return
            }
            out.writeRESPInteger(total)
        case .concatenateInOrder:
            var elements: [[RESPToken]] = []
            elements.reserveCapacity(parts.count)
            for reply in parts {
                guard let items = reply?.elements else {
                    client.reply(seq, error: "ERR unexpected reply from a backend to a split command")
                    return
                }
                elements.append(items)
            }
            out.writeRESPHeader(.array, keyPlacement.count)
            for (part, index) in keyPlacement {
                guard index < elements[part].count else {
                    client.reply(seq, error: "ERR unexpected reply from a backend to a split command")
                    return
                }
                var element = elements[part][index].base
                out.writeBuffer(&element)
            }
        }
        client.deliver(out, seq: seq)
    }
}

/// Sends one command to every primary and combines the replies (DBSIZE, KEYS, FLUSHALL, SCRIPT LOAD...).
final class FanOutMerge: ReplySink {
    private let client: ProxyClientHandler
    private let seq: Int
    private let combine: ([RESPToken]) -> ByteBuffer
    private var parts: [RESPToken?]
    private var remaining: Int

    private init(client: ProxyClientHandler, seq: Int, parts: Int, combine: @escaping ([RESPToken]) -> ByteBuffer) {
        self.client = client
        self.seq = seq
        self.parts = Array(repeating: nil, count: parts)
        self.remaining = parts
        self.combine = combine
    }

    static func start(mode: FanOutReply, frame: ByteBuffer, client: ProxyClientHandler, seq: Int) {
        start(frame: frame, client: client, seq: seq) { combine($0, mode: mode) }
    }

    /// Sends `frame` to every primary that owns slots; `combine` turns their replies into the client's reply.
    static func start(
        frame: ByteBuffer, client: ProxyClientHandler, seq: Int, combine: @escaping ([RESPToken]) -> ByteBuffer
    ) {
        let router = client.router
        let primaries = router.primaryIndexes
        guard !primaries.isEmpty else {
            client.deliver(ProxyErrors.clusterDown.base, seq: seq)
            return
        }
        let merge = FanOutMerge(client: client, seq: seq, parts: primaries.count, combine: combine)
        for (part, index) in primaries.enumerated() {
            router.sendToPrimary(index: index, frame, resp3: client.resp3, sink: merge, tag: part)
        }
    }

    func receive(_ reply: RESPToken, tag: Int) {
        guard tag < parts.count, parts[tag] == nil else { return }
        parts[tag] = reply
        remaining -= 1
        if remaining == 0 { client.deliver(combine(parts.compactMap { $0 }), seq: seq) }
    }

    static func combine(_ replies: [RESPToken], mode: FanOutReply) -> ByteBuffer {
        var out = ByteBuffer()
        let errors = replies.filter(\.isError)
        switch mode {
        case .oneSucceeded:
            return (replies.first { !$0.isError } ?? replies[0]).base
        case .anyNonNull:
            if let error = errors.first { return error.base }
            let nonNull = replies.filter { !$0.isNull }
            return (nonNull.randomElement() ?? replies[0]).base
        default:
            break
        }
        if let error = errors.first { return error.base }
        switch mode {
        case .allSucceeded:
            return replies[0].base
        case .sameValue:
            let first = replies[0]
            if replies.allSatisfy({ $0.base == first.base }) { return first.base }
            out.writeRESPError("ERR the primaries disagree on the reply to this command")
        case .sumIntegers, .minInteger:
            let values = replies.compactMap(\.integerValue)
            guard values.count == replies.count else {
                out.writeRESPError("ERR unexpected reply from a backend")
                return out
            }
            out.writeRESPInteger(mode == .sumIntegers ? values.reduce(0, &+) : (values.min() ?? 0))
        case .concatenateArrays:
            var all: [RESPToken] = []
            for reply in replies {
                guard let elements = reply.elements else {
                    out.writeRESPError("ERR unexpected reply from a backend")
                    return out
                }
                all += elements
            }
            out.writeRESPHeader(.array, all.count)
            for element in all {
                var bytes = element.base
                out.writeBuffer(&bytes)
            }
        case .logicalAndPerPosition:
            let lists = replies.compactMap(\.elements)
            guard lists.count == replies.count, let count = lists.first?.count, lists.allSatisfy({ $0.count == count })
            else {
                out.writeRESPError("ERR unexpected reply from a backend")
                return out
            }
            out.writeRESPHeader(.array, count)
            for position in 0..<count {
                let all = lists.allSatisfy { ($0[position].integerValue ?? 0) != 0 }
                out.writeRESPInteger(all ? 1 : 0)
            }
        case .oneSucceeded, .anyNonNull, .scanCursor:
            return replies[0].base
        }
        return out
    }
}

/// The reply of one node to a SCAN step, turned into a proxy cursor.
final class ScanSink: ReplySink {
    private let client: ProxyClientHandler
    private let seq: Int
    private let ordinal: Int
    private let nodeCount: Int

    init(client: ProxyClientHandler, seq: Int, ordinal: Int, nodeCount: Int) {
        self.client = client
        self.seq = seq
        self.ordinal = ordinal
        self.nodeCount = nodeCount
    }

    func receive(_ reply: RESPToken, tag: Int) {
        guard !reply.isError else {
            client.deliver(reply.base, seq: seq)
            return
        }
        guard let parts = reply.elements, parts.count == 2, case .bulkString(let cursorBytes) = parts[0].value,
            let nodeCursor = cursorBytes.getString(at: cursorBytes.readerIndex, length: cursorBytes.readableBytes)
                .flatMap({ UInt64($0) })
        else {
            client.reply(seq, error: "ERR unexpected SCAN reply from a backend")
            return
        }
        let next: UInt64
        if nodeCursor != 0 {
            next = nodeCursor << 10 | UInt64(ordinal)
        } else if ordinal + 1 < nodeCount {
            next = UInt64(ordinal + 1)
        } else {
            next = 0
        }
        var out = ByteBuffer()
        out.writeRESPHeader(.array, 2)
        out.writeRESPBulkString(String(next))
        var keys = parts[1].base
        out.writeBuffer(&keys)
        client.deliver(out, seq: seq)
    }
}

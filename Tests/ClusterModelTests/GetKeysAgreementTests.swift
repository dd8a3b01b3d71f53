import ClusterModel
import NIOCore
import RESP
import TestSupport
import Testing

/// What a `COMMAND GETKEYS` call answers: the key names in order, or an error line.
enum GetKeysOutcome: Equatable, CustomStringConvertible {
    case keys([[UInt8]])
    case error(String)

    var description: String {
        switch self {
        case .keys(let keys): return "keys " + keys.map { "'" + String(decoding: $0, as: UTF8.self) + "'" }.joined(separator: " ")
        case .error(let message): return "-\(message)"
        }
    }

    /// The outcome of a reply from Redis.
    init(reply: RESPValue) {
        if let message = reply.errorMessage {
            self = .error(message)
        } else if let elements = reply.elements {
            self = .keys(elements.map { element in
                if case .bulkString(let buffer) = element { return Array(buffer.readableBytesView) }
                return Array("<\(element)>".utf8)
            })
        } else {
            self = .error("unexpected reply \(reply)")
        }
    }

    /// What Keyway answers for `COMMAND GETKEYS <words>`: dispatch of COMMAND GETKEYS itself (its arity),
    /// then the table's GETKEYS.
    init(table: CommandTable, arguments: [[UInt8]]) {
        let getKeysArgv = [ByteBuffer(string: "COMMAND"), ByteBuffer(string: "GETKEYS")]
            + arguments.map { ByteBuffer(bytes: $0) }
        do {
            _ = try table.resolve(getKeysArgv)
        } catch {
            self = .error(error.message)
            return
        }
        let commandArgv = Array(getKeysArgv.dropFirst(2))
        do {
            let positions = try table.getKeys(commandArgv)
            self = .keys(positions.map { $0 >= 0 && $0 < arguments.count ? arguments[$0] : Array("<position \($0)>".utf8) })
        } catch {
            self = .error(error.message)
        }
    }
}

@Suite("COMMAND GETKEYS agreement with redis-server 7.0", .enabled(if: RedisServerProcess.isAvailable, "redis-server is not installed"))
struct GetKeysAgreementTests {
    let table = CommandTable.redis70

    @Test("hand-written and systematic invocations give the same keys or error as real Redis")
    func agreement() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let client = try await RESPTestClient.connect(port: server.port)
        defer { client.close() }

        let hand = GetKeysCorpus.handWritten.map(GetKeysCorpus.words)
        let systematic = GetKeysCorpus.systematic(table)
        let invocations = (hand + systematic).map { $0.map { Array($0.utf8) } } + GetKeysCorpus.binary
        #expect(hand.count >= 300)
        #expect(invocations.count >= 1000)

        var mismatches: [String] = []
        var errors = 0
        var withKeys = 0
        var start = 0
        while start < invocations.count {
            let batch = Array(invocations[start..<min(start + 200, invocations.count)])
            var request = ByteBuffer()
            for arguments in batch {
                request.writeRESPCommand([ByteBuffer(string: "COMMAND"), ByteBuffer(string: "GETKEYS")]
                    + arguments.map { ByteBuffer(bytes: $0) })
            }
            let replies = try await client.send(raw: request, replies: batch.count)
            for (arguments, reply) in zip(batch, replies) {
                let redis = GetKeysOutcome(reply: reply)
                let ours = GetKeysOutcome(table: table, arguments: arguments)
                if case .error = redis { errors += 1 } else { withKeys += 1 }
                if redis != ours {
                    let text = arguments.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
                    mismatches.append("\(text): redis \(redis), keyway \(ours)")
                }
            }
            start += batch.count
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(invocations.count) differ:\n\(mismatches.prefix(40).joined(separator: "\n"))")
        // The corpus must exercise both outcomes substantially.
        #expect(withKeys >= 400)
        #expect(errors >= 200)
    }
}

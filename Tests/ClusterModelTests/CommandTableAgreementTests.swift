import ClusterModel
import NIOCore
import RESP
import TestSupport
import Testing

/// Redis sends subcommands in hash order; sorts them by name so replies compare.
func normalizedInfo(_ value: RESPValue) -> RESPValue {
    guard case .array(var fields) = value, fields.count == 10 else { return value }
    let sortByName: ([RESPValue]) -> [RESPValue] = { subcommands in
        subcommands.map(normalizedInfo).sorted { ($0.elements?.first?.string ?? "") < ($1.elements?.first?.string ?? "") }
    }
    switch fields[9] {
    case .array(let subcommands): fields[9] = .array(sortByName(subcommands))
    case .set(let subcommands): fields[9] = .set(sortByName(subcommands))
    default: break
    }
    return .array(fields)
}

/// Sorts the `subcommands` map of a `COMMAND DOCS` entry by name (RESP2 flat array or RESP3 map).
func normalizedDocs(_ value: RESPValue) -> RESPValue {
    switch value {
    case .map(let pairs):
        return .map(pairs.map { pair in
            guard pair.key.string == "subcommands", case .map(let subcommands) = pair.value else { return pair }
            return (pair.key, .map(subcommands.sorted { ($0.key.string ?? "") < ($1.key.string ?? "") }))
        })
    case .array(var flat):
        var index = 0
        while index + 1 < flat.count {
            if flat[index].string == "subcommands", case .array(let subcommands) = flat[index + 1] {
                var pairs: [(RESPValue, RESPValue)] = []
                var position = 0
                while position + 1 < subcommands.count {
                    pairs.append((subcommands[position], subcommands[position + 1]))
                    position += 2
                }
                pairs.sort { ($0.0.string ?? "") < ($1.0.string ?? "") }
                flat[index + 1] = .array(pairs.flatMap { [$0.0, $0.1] })
            }
            index += 2
        }
        return .array(flat)
    default:
        return value
    }
}

@Suite("Command table agreement with redis-server 7.0", .enabled(if: RedisServerProcess.isAvailable, "redis-server is not installed"))
struct CommandTableAgreementTests {
    let table = CommandTable.redis70

    /// COMMAND and COMMAND DOCS from the server, rendered from the table in the same protocol, must be equal.
    func checkReplies(resp3: Bool) async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let client = try await RESPTestClient.connect(port: server.port)
        defer { client.close() }
        if resp3 {
            let hello = try await client.command(["HELLO", "3"])
            #expect(hello.errorMessage == nil)
        }

        let version = try await client.command(["INFO", "server"]).string ?? ""
        #expect(version.contains("redis_version:\(CommandTable.redisVersion)"), "the table was generated from another Redis version")

        let count = try await client.command(["COMMAND", "COUNT"])
        #expect(count == .integer(Int64(table.count)))

        let command = try #require(try await client.command(["COMMAND"]).elements)
        #expect(command.count == table.count)
        for entry in command {
            let name = entry.elements?.first?.string ?? "?"
            guard let spec = table.command(named: name) else {
                Issue.record("\(name) is missing from the table")
                continue
            }
            let ours = normalizedInfo(spec.infoReply(resp3: resp3))
            #expect(ours == normalizedInfo(entry), "COMMAND INFO \(name) differs")
        }

        let docsReply = try await client.command(["COMMAND", "DOCS"])
        var docs: [(RESPValue, RESPValue)] = []
        if case .map(let pairs) = docsReply {
            docs = pairs.map { ($0.key, $0.value) }
        } else if let flat = docsReply.elements {
            var index = 0
            while index + 1 < flat.count {
                docs.append((flat[index], flat[index + 1]))
                index += 2
            }
        }
        #expect(docs.count == table.count)
        for (key, value) in docs {
            let name = key.string ?? "?"
            guard let spec = table.command(named: name) else {
                Issue.record("\(name) is missing from the table")
                continue
            }
            #expect(normalizedDocs(spec.docsReply(resp3: resp3)) == normalizedDocs(value), "COMMAND DOCS \(name) differs")
        }

        // COMMAND LIST names every command and subcommand.
        let list = try await client.command(["COMMAND", "LIST"]).elements?.compactMap(\.string) ?? []
        #expect(list.sorted() == table.allCommands.map(\.name).sorted())
    }

    @Test("COMMAND, COMMAND COUNT, COMMAND DOCS and COMMAND LIST are reproduced from the table (RESP2)")
    func resp2() async throws {
        try await checkReplies(resp3: false)
    }

    @Test("COMMAND and COMMAND DOCS are reproduced from the table (RESP3)")
    func resp3() async throws {
        try await checkReplies(resp3: true)
    }

    @Test("unknown command / subcommand and arity errors have Redis's exact text")
    func dispatchErrors() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let client = try await RESPTestClient.connect(port: server.port)
        defer { client.close() }
        let long = String(repeating: "x", count: 100)
        let invocations: [[[UInt8]]] = [
            ["foo"], ["foo", "a", "b"], ["FOO", long, long, long], [String(repeating: "F", count: 300)],
            ["cluster", "nosuch"], ["Cluster", "nosuch", "x"], ["config", String(repeating: "s", count: 300)],
            ["object", "x\r\ny"], ["get"], ["get", "a", "b"], ["cluster"], ["cluster", "setslot"], ["config"],
            ["object", "encoding"], ["xinfo", "stream"], ["memory", "usage"], ["command", "getkeys", "get"],
            ["client", "setname"], ["multi", "x"], ["zadd", "k"], ["mset", "a"],
            ["bitop"], ["georadius", "k", "1", "2", "3"], ["xread", "streams", "s"], ["''"], ["a\r\nb", "c\rd"],
        ].map { $0.map { Array($0.utf8) } } + [
            [[0x66, 0x00, 0x6F], [0x61, 0x00, 0x62], [0xFF, 0xFE]],
            [Array("cluster".utf8), [0x6E, 0x00, 0x6F]],
            [Array("clu".utf8) + [0x00] + Array("ster".utf8), Array("x".utf8)],
        ]
        for arguments in invocations {
            let reply = try await client.command(bytes: arguments)
            let redis = try #require(reply.errorMessage, "Redis accepted \(arguments)")
            do {
                _ = try table.resolve(arguments.map { ByteBuffer(bytes: $0) })
                Issue.record("Keyway accepted \(arguments); Redis said \(redis)")
            } catch {
                #expect(error.message == redis)
            }
        }
    }
}

import ClusterModel
import NIOCore
import Testing

/// argv of ByteBuffers from strings.
func argv(_ words: String...) -> [ByteBuffer] {
    words.map { ByteBuffer(string: $0) }
}

func argv(_ words: [String]) -> [ByteBuffer] {
    words.map { ByteBuffer(string: $0) }
}

@Suite("Command table lookup")
struct CommandTableLookupTests {
    let table = CommandTable.redis70

    @Test("the table holds Redis 7.0's 240 commands and 126 subcommands")
    func counts() {
        #expect(table.count == 240)
        #expect(table.allCommands.count == 366)
        #expect(table.commands.map(\.name) == table.commands.map(\.name).sorted())
        #expect(CommandTable.redisVersion.hasPrefix("7.0."))
    }

    @Test("lookup is case-insensitive and exact", arguments: ["get", "GET", "gEt", "Get"])
    func caseInsensitive(name: String) {
        #expect(table.command(named: ByteBuffer(string: name))?.name == "get")
    }

    @Test("names that are not commands are not found", arguments: [
        "", "ge", "gett", "get ", " get", "getx", "g\u{0}t", "georadiusbymember_ro_", "x", "cluster|setslot",
        String(repeating: "a", count: 33), String(repeating: "a", count: 200), "GET\u{0}",
    ])
    func unknownNames(name: String) {
        #expect(table.command(named: ByteBuffer(string: name)) == nil)
    }

    @Test("only ASCII letters fold: a Latin-1 byte does not match")
    func onlyASCIIFolds() {
        // 0xC7 lowercased by 0x20 would be 0xE7; neither is a letter of a command name.
        var buffer = ByteBuffer(string: "ge")
        buffer.writeInteger(UInt8(0xD4))
        #expect(table.command(named: buffer) == nil)
    }

    @Test("every command and subcommand is found by its own name in upper case")
    func everyNameIsFound() {
        for spec in table.commands {
            #expect(table.command(named: ByteBuffer(string: spec.name.uppercased())) === spec)
            for sub in spec.subcommands {
                #expect(spec.subcommand(named: ByteBuffer(string: String(sub.subcommandName).uppercased())) === sub)
                #expect(table.command(named: sub.name.uppercased()) === sub)
            }
        }
    }

    @Test("a readable slice of a larger buffer is looked up by its readable bytes only")
    func slices() throws {
        let buffer = ByteBuffer(string: "xxHSETyy")
        let slice = try #require(buffer.getSlice(at: 2, length: 4))
        #expect(table.command(named: slice)?.name == "hset")
    }

    @Test("full names: container|sub, any case; one level only")
    func fullNames() {
        #expect(table.command(named: "CONFIG|GET")?.name == "config|get")
        #expect(table.command(named: "cluster|SetSlot")?.arity == -4)
        #expect(table.command(named: "config|nosuch") == nil)
        #expect(table.command(named: "get|x") == nil)
        #expect(table.command(named: "config|get|x") == nil)
        #expect(table.command(named: "config")?.isContainer == true)
    }

    @Test("subcommand lookup from argv[1]")
    func subcommands() throws {
        let cluster = try #require(table.command(named: ByteBuffer(string: "CLUSTER")))
        #expect(cluster.subcommand(named: ByteBuffer(string: "setslot"))?.name == "cluster|setslot")
        #expect(cluster.subcommand(named: ByteBuffer(string: "COUNT-FAILURE-REPORTS"))?.name
            == "cluster|count-failure-reports")
        #expect(cluster.subcommand(named: ByteBuffer(string: "nosuch")) == nil)
        #expect(cluster.subcommands.count == 27)
        let object = try #require(table.command(named: "object"))
        #expect(object.subcommands.map { String($0.subcommandName) } == ["encoding", "freq", "help", "idletime", "refcount"])
        #expect(table.command(named: "get")?.subcommand(named: ByteBuffer(string: "x")) == nil)
    }

    @Test("lookup follows lookupCommand: a container alone is itself, with argv[1] its subcommand")
    func lookupArgv() {
        if case .command(let spec) = table.lookup(argv("config")) {
            #expect(spec.name == "config")
        } else {
            Issue.record("CONFIG alone must resolve to the container")
        }
        if case .command(let spec) = table.lookup(argv("Config", "GET", "x")) {
            #expect(spec.name == "config|get")
        } else {
            Issue.record("CONFIG GET must resolve to config|get")
        }
        if case .unknownSubcommand(let container) = table.lookup(argv("config", "nosuch")) {
            #expect(container.name == "config")
        } else {
            Issue.record("CONFIG NOSUCH must be an unknown subcommand")
        }
        if case .unknownCommand = table.lookup(argv("nosuch", "x")) {} else {
            Issue.record("NOSUCH must be unknown")
        }
        if case .unknownCommand = table.lookup([]) {} else {
            Issue.record("an empty argv must be unknown")
        }
        if case .command(let spec) = table.lookup(argv("get", "config")) {
            #expect(spec.name == "get")
        } else {
            Issue.record("GET with arguments must resolve to get")
        }
    }

    @Test("the data matches Redis 7.0 for a few well-known commands")
    func knownEntries() throws {
        let get = try #require(table.command(named: "get"))
        #expect(get.arity == 2)
        #expect(get.flags == [.readonly, .fast])
        #expect(get.flags.names == ["readonly", "fast"])
        #expect((get.firstKey, get.lastKey, get.step) == (1, 1, 1))
        #expect(get.aclCategories.names == ["@read", "@string", "@fast"])
        #expect(get.docs.group == .string)
        #expect(get.docs.since == "1.0.0")
        #expect(get.docs.arguments == [CommandArgument(name: "key", type: .key, keySpecIndex: 0)])

        let mset = try #require(table.command(named: "mset"))
        #expect((mset.arity, mset.firstKey, mset.lastKey, mset.step) == (-3, 1, -1, 2))
        #expect(mset.keySpecs == [
            KeySpec(flags: [.ow, .update], beginSearch: .index(1), findKeys: .range(lastKey: -1, keyStep: 2, limit: 0))
        ])

        let xread = try #require(table.command(named: "xread"))
        #expect(xread.keySpecs.first?.beginSearch == .keyword("STREAMS", startFrom: 1))
        #expect(xread.keySpecs.first?.findKeys == .range(lastKey: -1, keyStep: 1, limit: 2))
        #expect(xread.flags.contains(.movableKeys) && xread.flags.contains(.blocking))

        let sort = try #require(table.command(named: "sort"))
        #expect(sort.keySpecs.count == 3)
        #expect(sort.keySpecs[1].beginSearch == .unknown && sort.keySpecs[1].notes != nil)

        let dbsize = try #require(table.command(named: "dbsize"))
        #expect(dbsize.tips == ["request_policy:all_shards", "response_policy:agg_sum"])
        #expect(dbsize.requestPolicyTip == "all_shards")
        #expect(dbsize.responsePolicyTip == "agg_sum")

        let setslot = try #require(table.command(named: "cluster|setslot"))
        #expect(setslot.isSubcommand && !setslot.isContainer)
        #expect(setslot.containerName == "cluster")
        #expect(setslot.subcommandName == "setslot")
        #expect(setslot.flags == [.admin, .stale, .noAsyncLoading])

        let spublish = try #require(table.command(named: "spublish"))
        #expect(spublish.keySpecs.first?.flags == [.notKey])
        #expect(!spublish.hasKeys)
    }

    @Test("arity: positive is exact, negative a minimum")
    func arity() throws {
        let get = try #require(table.command(named: "get"))
        #expect(!get.acceptsArgumentCount(1) && get.acceptsArgumentCount(2) && !get.acceptsArgumentCount(3))
        let mset = try #require(table.command(named: "mset"))
        #expect(!mset.acceptsArgumentCount(2) && mset.acceptsArgumentCount(3) && mset.acceptsArgumentCount(9))
    }
}

@Suite("Dispatch errors")
struct CommandErrorTests {
    let table = CommandTable.redis70

    func message(_ words: [String]) -> String? {
        do {
            _ = try table.resolve(argv(words))
            return nil
        } catch {
            return error.message
        }
    }

    @Test("known commands with a valid argument count resolve")
    func resolves() throws {
        #expect(try table.resolve(argv("GET", "k")).name == "get")
        #expect(try table.resolve(argv("cluster", "SETSLOT", "1", "stable")).name == "cluster|setslot")
        #expect(try table.resolve(argv("command")).name == "command")
    }

    @Test("Redis 7.0's texts for arity, unknown command and unknown subcommand")
    func texts() {
        #expect(message(["get"]) == "ERR wrong number of arguments for 'get' command")
        #expect(message(["GET", "a", "b"]) == "ERR wrong number of arguments for 'get' command")
        #expect(message(["cluster"]) == "ERR wrong number of arguments for 'cluster' command")
        #expect(message(["cluster", "setslot"]) == "ERR wrong number of arguments for 'cluster|setslot' command")
        #expect(message(["foo", "a", "b"]) == "ERR unknown command 'foo', with args beginning with: 'a' 'b' ")
        #expect(message(["foo"]) == "ERR unknown command 'foo', with args beginning with: ")
        #expect(message(["cluster", "nosuch", "x"]) == "ERR unknown subcommand 'nosuch'. Try CLUSTER HELP.")
        #expect(message(["ClUsTeR", "nosuch"]) == "ERR unknown subcommand 'nosuch'. Try CLUSTER HELP.")
    }

    @Test("long arguments are cut at 128 bytes like Redis's %.128s")
    func truncation() {
        let x = String(repeating: "x", count: 100)
        let y = String(repeating: "y", count: 100)
        #expect(message(["foo", x, y, "z"])
            == "ERR unknown command 'foo', with args beginning with: '\(x)' '\(String(repeating: "y", count: 25))' ")
        let f = String(repeating: "F", count: 200)
        #expect(message([f]) == "ERR unknown command '\(String(repeating: "F", count: 128))', with args beginning with: ")
        let s = String(repeating: "s", count: 200)
        #expect(message(["cluster", s]) == "ERR unknown subcommand '\(String(repeating: "s", count: 128))'. Try CLUSTER HELP.")
    }

    @Test("CR and LF become spaces; an argument ends at NUL; other bytes pass through")
    func binary() throws {
        do {
            _ = try table.resolve([ByteBuffer(string: "fo\r\no"), ByteBuffer(bytes: [0x61, 0x00, 0x62]),
                                   ByteBuffer(bytes: [0xFF])])
            Issue.record("must fail")
        } catch {
            #expect(error.kind == .unknownCommand)
            #expect(error.messageBytes == Array("ERR unknown command 'fo  o', with args beginning with: 'a' '".utf8)
                + [0xFF] + Array("' ".utf8))
        }
    }

    @Test("error kinds")
    func kinds() {
        #expect(throws: CommandError.self) { try table.resolve(argv("nosuch")) }
        do {
            _ = try table.resolve(argv("object", "nosuch"))
        } catch {
            #expect(error.kind == .unknownSubcommand)
        }
        do {
            _ = try table.resolve(argv("object", "encoding"))
        } catch {
            #expect(error.kind == .wrongNumberOfArguments)
            #expect(error.message == "ERR wrong number of arguments for 'object|encoding' command")
        }
    }
}

@Suite("Routing policy")
struct RoutingPolicyTests {
    let table = CommandTable.redis70

    func routing(_ name: String) -> RoutingPolicy? {
        table.command(named: name)?.routing
    }

    @Test("the proxy's multi-key, fan-out and local commands")
    func explicitPolicies() {
        #expect(routing("mget") == .splitByKey(.concatenateInOrder))
        #expect(routing("mset") == .splitByKey(.allSucceeded))
        for name in ["del", "unlink", "exists", "touch"] {
            #expect(routing(name) == .splitByKey(.sumIntegers), "\(name)")
        }
        #expect(routing("dbsize") == .allPrimaries(.sumIntegers))
        #expect(routing("keys") == .allPrimaries(.concatenateArrays))
        #expect(routing("scan") == .allPrimaries(.scanCursor))
        #expect(routing("flushall") == .allPrimaries(.allSucceeded))
        #expect(routing("flushdb") == .allPrimaries(.allSucceeded))
        #expect(routing("randomkey") == .allPrimaries(.anyNonNull))
        #expect(routing("script|load") == .allPrimaries(.sameValue))
        #expect(routing("script|flush") == .allPrimaries(.allSucceeded))
        #expect(routing("script|exists") == .allPrimaries(.logicalAndPerPosition))
        for name in ["ping", "echo", "select", "quit", "hello", "auth", "reset", "info", "command", "command|docs",
                     "client|setname", "client|getname", "client|id", "config|get"] {
            #expect(routing(name) == .local, "\(name)")
        }
        #expect(routing("time") == .anyNode)
        #expect(routing("get") == .singleSlot)
        #expect(routing("eval") == .singleSlot)
        #expect(routing("msetnx") == .singleSlot)
        #expect(routing("spublish") == .singleSlot)
        #expect(routing("multi") == .transaction)
        #expect(routing("watch") == .transaction)
        #expect(routing("subscribe") == .pubSub)
        #expect(routing("ssubscribe") == .pubSub)
        #expect(routing("publish") == .anyNode)
        #expect(routing("cluster|setslot") == .unsupported)
        #expect(routing("config|set") == .unsupported)
    }

    @Test("every keyed command defaults to single-slot and every keyless one to any node, unless listed")
    func defaults() {
        for spec in table.allCommands {
            switch spec.routing {
            case .singleSlot:
                #expect(spec.hasKeys || spec.name == "spublish", "\(spec.name) is single-slot without keys")
            case .splitByKey:
                #expect(spec.hasKeys && spec.keySpecs.count == 1, "\(spec.name)")
            case .anyNode, .allPrimaries, .local, .unsupported:
                #expect(!spec.hasKeys || ["migrate", "restore-asking", "pfdebug"].contains(spec.name),
                        "\(spec.name) has keys but is not routed by them")
            case .transaction, .pubSub:
                break
            }
        }
    }

    @Test("the policies agree with Redis's request_policy / response_policy tips")
    func tipsCrossCheck() {
        // Deliberate departures from a tip, each with its reason.
        let exceptions: [String: String] = [
            "msetnx": "all-or-nothing: a split cannot keep it atomic",
            "ping": "answered by the proxy",
            "info": "answered by the proxy",
            "wait": "counts replicas of this connection's writes: meaningless through a pooled proxy",
            "config|set": "node configuration is not changed through the proxy",
        ]
        for spec in table.allCommands {
            guard let request = spec.requestPolicyTip, exceptions[spec.name] == nil else { continue }
            switch request {
            case "all_shards", "all_nodes":
                if case .allPrimaries = spec.routing {} else if spec.routing != .anyNode {
                    Issue.record("\(spec.name): tip \(request), routing \(spec.routing)")
                }
            case "multi_shard":
                if case .splitByKey = spec.routing {} else {
                    Issue.record("\(spec.name): tip multi_shard, routing \(spec.routing)")
                }
            case "special":
                #expect(spec.routing == .allPrimaries(.scanCursor), "\(spec.name)")
            default:
                Issue.record("\(spec.name): unknown request policy \(request)")
            }
            let aggregate: String?
            switch spec.routing {
            case .allPrimaries(.sumIntegers), .splitByKey(.sumIntegers): aggregate = "agg_sum"
            case .allPrimaries(.allSucceeded), .splitByKey(.allSucceeded): aggregate = "all_succeeded"
            case .allPrimaries(.oneSucceeded): aggregate = "one_succeeded"
            case .allPrimaries(.logicalAndPerPosition): aggregate = "agg_logical_and"
            case .allPrimaries(.minInteger): aggregate = "agg_min"
            default: aggregate = nil
            }
            if let aggregate {
                #expect(spec.responsePolicyTip.map(String.init) == aggregate, "\(spec.name)")
            }
        }
    }
}

@Suite("Integer parsing as Redis does it")
struct RedisIntegerTests {
    let table = CommandTable.redis70

    /// Keys of `EVAL s <numkeys> a b c`: the key spec parses numkeys strictly, the fallback with atoi.
    func evalKeys(_ numkeys: String) -> [Int] {
        let spec = table.command(named: "eval")
        return spec.map { Array($0.keyPositions(in: argv("eval", "s", numkeys, "a", "b", "c"))) } ?? [-1]
    }

    @Test("numkeys", arguments: [
        ("0", []), ("1", [3]), ("2", [3, 4]), ("3", [3, 4, 5]), ("4", []), ("-1", []), ("01", [3]),
        ("2abc", [3, 4]), (" 2", [3, 4]), ("+2", [3, 4]), ("abc", []), ("", []),
        ("4294967297", [3]), ("99999999999999999999", []), ("-4294967295", [3]),
    ] as [(String, [Int])])
    func numkeys(value: String, expected: [Int]) {
        #expect(evalKeys(value) == expected)
    }
}

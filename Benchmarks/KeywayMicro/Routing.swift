import Benchmark
import ClusterModel
import NIOCore
import RESP

/// What the proxy does per request before forwarding it: command-table lookup, key extraction (the key-spec walk),
/// hash slots, the slot-map lookup, and the split of a multi-key command by slot.
///
/// The proxy's router (`ProxyClientHandler.process`, `slot(of:argv:)`, `routeSingleSlot`, `split`) is internal to
/// KeywayProxy and bound to a channel, so these benchmarks make the same ClusterModel calls in the same order on
/// the same data: `CommandTable.lookup`, `CommandSpec.acceptsArgumentCount`, `CommandSpec.keyPositions(in:)`,
/// `HashSlot(key:)`, `SlotMap.ownerIndex(of:)`.
func routingBenchmarks() {
    let table = CommandTable.redis70
    let slotMap = RoutingFixture.threeShardSlotMap()
    let requests = RoutingFixture.mixedPipeline()
    let specs: [CommandSpec] = requests.compactMap {
        if case .command(let spec) = table.lookup($0) { return spec }
        return nil
    }
    precondition(specs.count == requests.count, "every request of the routing pipeline is a known command")
    // The slot of each request's first key (every request of the pipeline has one).
    let slots: [Int] = requests.indices.compactMap { index in
        specs[index].keyPositions(in: requests[index]).first.map { Int(HashSlot(key: requests[index][$0]).rawValue) }
    }
    precondition(slots.count == requests.count, "every request of the routing pipeline has a key")
    precondition(
        requests.allSatisfy { RoutingFixture.route($0, table: table, slotMap: slotMap) >= 0 },
        "every request of the routing pipeline goes to one primary")

    microBenchmark("Routing.command-lookup.1000-mixed") {
        var found = 0
        for argv in requests {
            if case .command(let spec) = table.lookup(argv), spec.acceptsArgumentCount(argv.count) { found &+= 1 }
        }
        blackHole(found)
    }

    microBenchmark("Routing.key-positions.1000-mixed") {
        var sum = 0
        for index in requests.indices {
            for position in specs[index].keyPositions(in: requests[index]) { sum &+= position }
        }
        blackHole(sum)
    }

    microBenchmark("Routing.slot-map-lookup.1000-slots") {
        var sum = 0
        for slot in slots { sum &+= slotMap.ownerIndex(of: slot) ?? -1 }
        blackHole(sum)
    }

    microBenchmark("Routing.route.1000-mixed") {
        var sum = 0
        for argv in requests { sum &+= RoutingFixture.route(argv, table: table, slotMap: slotMap) }
        blackHole(sum)
    }

    let mget = RoutingFixture.multiKey("MGET", keys: 100, valuesPerKey: 0)
    let mset = RoutingFixture.multiKey("MSET", keys: 100, valuesPerKey: 1)
    for (name, argv) in [("Routing.split.MGET-100-keys", mget), ("Routing.split.MSET-100-keys", mset)] {
        guard case .command(let spec) = table.lookup(argv), case .splitByKey = spec.routing else {
            preconditionFailure("\(name): the command table routes \(String(buffer: argv[0])) by key")
        }
        microBenchmark(name) {
            blackHole(RoutingFixture.split(spec, argv: argv, slotMap: slotMap))
        }
    }
}

/// The requests and the cluster the routing suite works on, and the proxy's routing steps on them.
enum RoutingFixture {
    /// Three primaries with Redis's default even split of the slots (as `redis-cli --cluster create` makes).
    static func threeShardSlotMap() -> SlotMap {
        let ranges = [0...5460, 5461...10922, 10923...16383]
        let shards = ranges.enumerated().map { index, range in
            ShardInfo(
                slots: [range],
                primary: ClusterNodeInfo(id: "node\(index)", endpoint: Endpoint(host: "127.0.0.1", port: 7000 + index)))
        }
        return SlotMap(ClusterTopology(shards: shards))
    }

    /// 1,000 requests cycling over ten common commands (plain key specs, a container subcommand, a `numkeys` spec),
    /// decoded from one RESP pipeline, so that every argument is a slice of the read buffer as in the proxy.
    static func mixedPipeline() -> [[ByteBuffer]] {
        var bytes = ByteBuffer()
        for i in 0..<SetPipeline.commandCount {
            let key = "key:" + SetPipeline.sixDigits(i)
            let command: [String]
            switch i % 10 {
            case 0: command = ["GET", key]
            case 1: command = ["SET", key, "value-of-16-byte"]
            case 2: command = ["INCR", key]
            case 3: command = ["LPUSH", key, "element"]
            case 4: command = ["HSET", key, "field", "value"]
            case 5: command = ["SADD", key, "member"]
            case 6: command = ["ZADD", key, "1", "member"]
            case 7: command = ["EXPIRE", key, "100"]
            case 8: command = ["OBJECT", "ENCODING", key]
            default: command = ["EVAL", "return 1", "1", key]
            }
            bytes.writeRESPCommand(command.map { ByteBuffer(string: $0) })
        }
        var decoder = RESPRequestDecoder()
        var requests: [[ByteBuffer]] = []
        while let request = try? decoder.decode(&bytes) {
            requests.append(request.arguments)
        }
        precondition(requests.count == SetPipeline.commandCount, "the routing pipeline decodes")
        return requests
    }

    /// `MGET key:000000 ... key:000099` or `MSET key:000000 v ...`: keys of (almost) all different slots.
    static func multiKey(_ command: String, keys: Int, valuesPerKey: Int) -> [ByteBuffer] {
        var argv = [ByteBuffer(string: command)]
        for i in 0..<keys {
            argv.append(ByteBuffer(string: "key:" + SetPipeline.sixDigits(i)))
            for _ in 0..<valuesPerKey { argv.append(ByteBuffer(string: "value-of-16-byte")) }
        }
        return argv
    }

    /// The proxy's decision for one single-slot request (`process`, `slot(of:argv:)`, `routeSingleSlot`): the
    /// owner's index in the slot map, or a negative code (-1 unknown or bad arity, -2 CROSSSLOT, -3 no key,
    /// -4 slot not served, -5 not a single-slot command).
    @inline(__always)
    static func route(_ argv: [ByteBuffer], table: CommandTable, slotMap: SlotMap) -> Int {
        guard case .command(let spec) = table.lookup(argv), spec.acceptsArgumentCount(argv.count) else { return -1 }
        guard case .singleSlot = spec.routing else { return -5 }
        var slot = -1
        for position in spec.keyPositions(in: argv) where position < argv.count {
            let keySlot = Int(HashSlot(key: argv[position]).rawValue)
            if slot < 0 {
                slot = keySlot
            } else if keySlot != slot {
                return -2
            }
        }
        guard slot >= 0 else { return -3 }
        return slotMap.ownerIndex(of: slot) ?? -4
    }

    /// The proxy's split of a multi-key command (`ProxyClientHandler.split`): one sub-command per slot with its
    /// keys in the client's order, encoded for its owner, and each key's place for the merge. Returns the bytes
    /// written plus the owners' indexes, so that nothing is optimised away.
    static func split(_ spec: CommandSpec, argv: [ByteBuffer], slotMap: SlotMap) -> Int {
        let positions = spec.keyPositions(in: argv)
        let step = max(spec.step, 1)
        guard !positions.isEmpty else { return 0 }
        let firstSlot = Int(HashSlot(key: argv[positions[0]]).rawValue)
        var oneSlot = true
        var slots: [Int] = []
        slots.reserveCapacity(positions.count)
        for position in positions {
            let keySlot = Int(HashSlot(key: argv[position]).rawValue)
            slots.append(keySlot)
            if keySlot != firstSlot { oneSlot = false }
        }
        if oneSlot { return slotMap.ownerIndex(of: firstSlot) ?? -1 }
        var partOfSlot: [Int: Int] = [:]
        var partKeys: [[Int]] = []
        var partSlots: [Int] = []
        var keyPlacement: [(part: Int, index: Int)] = []
        keyPlacement.reserveCapacity(positions.count)
        for (i, position) in positions.enumerated() {
            let keySlot = slots[i]
            let part: Int
            if let existing = partOfSlot[keySlot] {
                part = existing
            } else {
                part = partKeys.count
                partOfSlot[keySlot] = part
                partKeys.append([])
                partSlots.append(keySlot)
            }
            keyPlacement.append((part, partKeys[part].count))
            partKeys[part].append(position)
        }
        var result = keyPlacement.count
        for (part, keyPositions) in partKeys.enumerated() {
            var buffer = ByteBuffer()
            buffer.reserveCapacity(64 * keyPositions.count * step)
            buffer.writeRESPHeader(.array, 1 + keyPositions.count * step)
            buffer.writeRESPBulkString(argv[0])
            for position in keyPositions {
                for offset in 0..<step where position + offset < argv.count {
                    buffer.writeRESPBulkString(argv[position + offset])
                }
            }
            result &+= buffer.readableBytes &+ (slotMap.ownerIndex(of: partSlots[part]) ?? -1)
        }
        return result
    }
}

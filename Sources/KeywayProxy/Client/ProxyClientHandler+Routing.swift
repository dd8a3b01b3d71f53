import ClusterModel
import NIOCore
import RESP

extension ProxyClientHandler {
    /// Routes one command: to a slot's owner, split by key, to every primary, or answered here.
    func process(_ request: RESPRequest, seq: Int) {
        let argv = request.arguments
        guard !argv.isEmpty else {
            deliver(Self.empty, seq: seq)
            return
        }
        let frame = request.frame ?? Self.encode(argv)
        let spec: CommandSpec
        switch router.table.lookup(argv) {
        case .command(let found):
            spec = found
            noteCommand(found, seq: seq)
        case .unknownSubcommand:
            replyTableError(argv, seq: seq)
            return
        case .unknownCommand:
            if transaction != nil {
                replyTableError(argv, seq: seq)
                transaction?.dirty = true
                return
            }
            // A command newer than our table: let a backend decide (a MOVED reply tells us its slot).
            router.sendToAnyPrimary(frame, resp3: resp3, sink: self, tag: seq)
            return
        }
        if transaction != nil && spec.routing != .transaction && !Self.runsInsideTransaction(spec) {
            queueInTransaction(spec, argv: argv, frame: frame, seq: seq)
            return
        }
        guard spec.acceptsArgumentCount(argv.count) else {
            reply(seq, error: CommandError.wrongNumberOfArguments(spec).message)
            return
        }
        lastCommandSpec = spec
        switch spec.routing {
        case .singleSlot:
            routeSingleSlot(spec, argv: argv, frame: frame, seq: seq)
        case .splitByKey(let merge):
            split(spec, argv: argv, frame: frame, merge: merge, seq: seq)
        case .allPrimaries(let fanOut):
            if fanOut == .scanCursor {
                scan(argv: argv, seq: seq)
            } else {
                FanOutMerge.start(mode: fanOut, frame: frame, client: self, seq: seq)
            }
        case .anyNode:
            router.sendToAnyPrimary(frame, resp3: resp3, sink: self, tag: seq)
        case .local:
            local(spec, argv: argv, frame: frame, seq: seq)
        case .transaction:
            transactionCommand(spec, argv: argv, frame: frame, seq: seq)
        case .pubSub:
            pubSubCommand(spec, argv: argv, frame: frame, seq: seq)
        case .unsupported:
            if spec.name == "wait" {
                sendBlocking(frame, slot: nil, seq: seq)
                return
            }
            reply(seq, error: "ERR '\(spec.name.uppercased())' is not supported through keyway proxy")
        }
    }

    /// Commands that keep their meaning inside MULTI instead of being queued.
    static func runsInsideTransaction(_ spec: CommandSpec) -> Bool {
        spec.name == "quit" || spec.name == "reset"
    }

    func replyTableError(_ argv: [ByteBuffer], seq: Int) {
        do {
            _ = try router.table.resolve(argv)
            reply(seq, error: "ERR unknown command")
        } catch {
            reply(seq, error: error.message)
        }
    }

    /// The slot every key of `argv` hashes to; nil with no keys; throws CROSSSLOT when they disagree.
    func slot(of spec: CommandSpec, argv: [ByteBuffer]) -> SlotResult {
        let positions =
            spec.routesByShardChannel ? spec.keyAndChannelPositions(in: argv) : spec.keyPositions(in: argv)
        var slot = -1
        for position in positions where position < argv.count {
            let keySlot = Int(HashSlot(key: argv[position]).rawValue)
            if slot < 0 {
                slot = keySlot
            } else if keySlot != slot {
                return .crossSlot
            }
        }
        return slot < 0 ? .none : .slot(slot)
    }

    enum SlotResult {
        case none
        case slot(Int)
        case crossSlot
    }

    private func routeSingleSlot(_ spec: CommandSpec, argv: [ByteBuffer], frame: ByteBuffer, seq: Int) {
        switch slot(of: spec, argv: argv) {
        case .crossSlot:
            deliver(ProxyErrors.crossSlot.base, seq: seq)
        case .none:
            if spec.flags.contains(.blocking) {
                sendBlocking(frame, slot: nil, seq: seq)
            } else {
                router.sendToAnyPrimary(frame, resp3: resp3, sink: self, tag: seq)
            }
        case .slot(let slot):
            if spec.flags.contains(.blocking) {
                sendBlocking(frame, slot: slot, seq: seq)
            } else {
                router.send(frame, slot: slot, readonly: spec.flags.contains(.readonly), resp3: resp3, sink: self, tag: seq)
            }
        }
    }

    /// Sends a command that may block on this client's own connection to the slot's owner, so that it never stalls
    /// the loop's shared pipeline.
    func sendBlocking(_ frame: ByteBuffer, slot: Int?, seq: Int) {
        guard let endpoint = router.primary(forSlot: slot) else {
            deliver(ProxyErrors.clusterDown.base, seq: seq)
            return
        }
        guard let connection = blockingConnection(to: endpoint) else {
            deliver(router.unreachable(endpoint).base, seq: seq)
            return
        }
        connection.send(
            frame,
            InFlight(sink: self, tag: seq, request: frame, slot: Int32(slot ?? -1), attempts: 0, kind: .routed, lane: .blocking,
                resp3: resp3))
    }

    // MARK: Multi-key split

    private func split(_ spec: CommandSpec, argv: [ByteBuffer], frame: ByteBuffer, merge: SplitMerge, seq: Int) {
        let positions = spec.keyPositions(in: argv)
        let step = max(spec.step, 1)
        guard !positions.isEmpty else {
            router.sendToAnyPrimary(frame, resp3: resp3, sink: self, tag: seq)
            return
        }
        // The loop's scratch arrays, taken out for the call (a nested split, if one ever ran, would get fresh ones):
        // the grouping allocates nothing once they have grown.
        var scratch = router.takeSplitScratch()
        defer { router.returnSplitScratch(&scratch) }
        // Fast path: every key in one slot, the command goes as it is.
        let firstSlot = Int(HashSlot(key: argv[positions[0]]).rawValue)
        var oneSlot = true
        for position in positions {
            let keySlot = Int(HashSlot(key: argv[position]).rawValue)
            scratch.slots.append(keySlot)
            if keySlot != firstSlot { oneSlot = false }
        }
        if oneSlot {
            router.send(frame, slot: firstSlot, readonly: spec.flags.contains(.readonly), resp3: resp3, sink: self, tag: seq)
            return
        }
        // One sub-command per slot, keys in the client's order within it. Parts are numbered by their first key.
        for keySlot in scratch.slots {
            var part = -1
            if scratch.partSlots.count <= 16 {
                // Few parts (MSET/MGET of a handful of keys): a scan beats hashing.
                for (index, candidate) in scratch.partSlots.enumerated() where candidate == keySlot {
                    part = index
                    break
                }
            } else {
                if scratch.partOfSlot.isEmpty {
                    for (index, candidate) in scratch.partSlots.enumerated() { scratch.partOfSlot[candidate] = index }
                }
                part = scratch.partOfSlot[keySlot] ?? -1
            }
            if part < 0 {
                part = scratch.partSlots.count
                scratch.partSlots.append(keySlot)
                scratch.partCounts.append(0)
                if !scratch.partOfSlot.isEmpty { scratch.partOfSlot[keySlot] = part }
            }
            scratch.partOfKey.append(part)
            scratch.partCounts[part] += 1
        }
        let parts = scratch.partSlots.count
        // Keys grouped by part (a counting sort), and for MGET where each key's value lands in its part's reply.
        scratch.starts.append(0)
        for part in 0..<parts { scratch.starts.append(scratch.starts[part] + scratch.partCounts[part]) }
        scratch.filled.append(contentsOf: scratch.starts)
        scratch.order.append(contentsOf: repeatElement(0, count: positions.count))
        var keyPlacement: [(part: Int, index: Int)] = []
        if merge == .concatenateInOrder { keyPlacement.reserveCapacity(positions.count) }
        for (i, part) in scratch.partOfKey.enumerated() {
            if merge == .concatenateInOrder { keyPlacement.append((part, scratch.filled[part] - scratch.starts[part])) }
            scratch.order[scratch.filled[part]] = i
            scratch.filled[part] += 1
        }
        let merger = SplitMergeSink(client: self, seq: seq, mode: merge, parts: parts, keyPlacement: keyPlacement)
        // Every part in one buffer, sent as slices of it (the backend connection copies them into its output).
        // All parts are written before the first slice is taken: a write into a buffer that a slice shares would
        // copy the whole buffer (it did, once per part: ~27 copies per 10-key MSET).
        var buffer = ByteBufferAllocator().buffer(capacity: frame.readableBytes + 16 * parts)
        let readonly = spec.flags.contains(.readonly)
        // `filled` is done with; reused: filled[part] is where the part starts, filled[parts] where the last ends.
        for part in 0..<parts {
            scratch.filled[part] = buffer.writerIndex
            buffer.writeRESPHeader(.array, 1 + scratch.partCounts[part] * step)
            buffer.writeRESPBulkString(argv[0])
            for key in scratch.order[scratch.starts[part]..<scratch.starts[part + 1]] {
                let position = positions[key]
                for offset in 0..<step where position + offset < argv.count {
                    buffer.writeRESPBulkString(argv[position + offset])
                }
            }
        }
        scratch.filled[parts] = buffer.writerIndex
        for part in 0..<parts {
            let start = scratch.filled[part]
            let request = buffer.getSlice(at: start, length: scratch.filled[part + 1] - start) ?? ByteBuffer()
            router.send(request, slot: scratch.partSlots[part], readonly: readonly, resp3: resp3, sink: merger, tag: part)
        }
    }

    // MARK: SCAN across primaries

    /// SCAN with a proxy cursor: the low 10 bits name the primary (in slot-map order), the rest is its cursor.
    private func scan(argv: [ByteBuffer], seq: Int) {
        guard let cursor = argv[1].getString(at: argv[1].readerIndex, length: argv[1].readableBytes).flatMap({ UInt64($0) })
        else {
            reply(seq, error: "ERR invalid cursor")
            return
        }
        let primaries = router.primaryIndexes
        guard !primaries.isEmpty else {
            deliver(ProxyErrors.clusterDown.base, seq: seq)
            return
        }
        let ordinal = Int(cursor & 1023)
        let nodeCursor = cursor >> 10
        guard ordinal < primaries.count else {
            // A cursor from before the topology changed: start over on the first node, as SCAN allows.
            deliver(Self.scanDone, seq: seq)
            return
        }
        var rewritten = argv
        rewritten[1] = ByteBuffer(string: String(nodeCursor))
        let sink = ScanSink(client: self, seq: seq, ordinal: ordinal, nodeCount: primaries.count)
        router.sendToPrimary(index: primaries[ordinal], Self.encode(rewritten), resp3: resp3, sink: sink, tag: 0)
    }

    static let scanDone = ByteBuffer(string: "*2\r\n$1\r\n0\r\n*0\r\n")

    static func encode(_ argv: [ByteBuffer]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeRESPCommand(argv)
        return buffer
    }
}

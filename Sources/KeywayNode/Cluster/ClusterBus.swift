import ClusterModel
import Foundation
import Logging
import NIOCore
import NIOPosix
import RESP

/// One cluster bus message: the sender's view of itself plus gossip about other nodes.
///
/// Keyway's own protocol, RESP-framed: an array of bulk strings
/// `type id ip port busport flags master currentEpoch configEpoch slots(2048-byte bitmap) n [id ip port busport flags]×n`.
/// A FAIL message carries the failing node as its only gossip entry.
struct ClusterMessage {
    enum Kind: String { case ping = "PING", pong = "PONG", meet = "MEET", fail = "FAIL" }

    struct Gossip {
        var id: String
        var ip: String
        var port: Int
        var busPort: Int
        var flags: ClusterNodeFlags
    }

    var kind: Kind
    var senderID: String
    var ip: String
    var port: Int
    var busPort: Int
    var flags: ClusterNodeFlags
    var masterID: String?
    var currentEpoch: UInt64
    var configEpoch: UInt64
    var slots: [UInt8]
    var gossip: [Gossip]

    static let bitmapSize = HashSlot.count / 8

    func encode(into buffer: inout ByteBuffer) {
        let count = 11 + gossip.count * 5
        buffer.writeRESPHeader(.array, count)
        buffer.writeRESPBulkString(kind.rawValue)
        buffer.writeRESPBulkString(senderID)
        buffer.writeRESPBulkString(ip)
        buffer.writeRESPBulkString(String(port))
        buffer.writeRESPBulkString(String(busPort))
        buffer.writeRESPBulkString(flags.text)
        buffer.writeRESPBulkString(masterID ?? "-")
        buffer.writeRESPBulkString(String(currentEpoch))
        buffer.writeRESPBulkString(String(configEpoch))
        buffer.writeRESPBulkString(bytes: slots)
        buffer.writeRESPBulkString(String(gossip.count))
        for node in gossip {
            buffer.writeRESPBulkString(node.id)
            buffer.writeRESPBulkString(node.ip)
            buffer.writeRESPBulkString(String(node.port))
            buffer.writeRESPBulkString(String(node.busPort))
            buffer.writeRESPBulkString(node.flags.text)
        }
    }

    /// Decodes a message; nil for anything malformed (the link is then closed).
    init?(_ token: RESPToken) {
        guard case .array(let array) = token.value else { return nil }
        var fields: [ByteBuffer] = []
        for element in array {
            guard case .bulkString(let bytes) = element.value else { return nil }
            fields.append(bytes)
        }
        guard fields.count >= 11, let kind = Kind(rawValue: String(buffer: fields[0])) else { return nil }
        func int(_ i: Int) -> Int? { fields[i].parseInt64().map(Int.init) }
        guard let port = int(3), let busPort = int(4), let current = fields[7].parseInt64(),
            let config = fields[8].parseInt64(), fields[9].readableBytes == Self.bitmapSize,
            let gossipCount = int(10), gossipCount >= 0, fields.count == 11 + gossipCount * 5
        else { return nil }
        self.kind = kind
        self.senderID = String(buffer: fields[1])
        self.ip = String(buffer: fields[2])
        self.port = port
        self.busPort = busPort
        self.flags = ClusterNodeFlags(text: String(buffer: fields[5]))
        let master = String(buffer: fields[6])
        self.masterID = master == "-" ? nil : master
        self.currentEpoch = UInt64(max(0, current))
        self.configEpoch = UInt64(max(0, config))
        self.slots = Array(fields[9].readableBytesView)
        var gossip: [Gossip] = []
        for g in 0..<gossipCount {
            let base = 11 + g * 5
            guard let p = int(base + 2), let b = int(base + 3) else { return nil }
            gossip.append(
                Gossip(
                    id: String(buffer: fields[base]), ip: String(buffer: fields[base + 1]), port: p, busPort: b,
                    flags: ClusterNodeFlags(text: String(buffer: fields[base + 4]))))
        }
        self.gossip = gossip
        guard senderID.utf8.count == 40 else { return nil }
    }

    init(
        kind: Kind, senderID: String, ip: String, port: Int, busPort: Int, flags: ClusterNodeFlags,
        masterID: String?, currentEpoch: UInt64, configEpoch: UInt64, slots: [UInt8], gossip: [Gossip]
    ) {
        self.kind = kind
        self.senderID = senderID
        self.ip = ip
        self.port = port
        self.busPort = busPort
        self.flags = flags
        self.masterID = masterID
        self.currentEpoch = currentEpoch
        self.configEpoch = configEpoch
        self.slots = slots
        self.gossip = gossip
    }

    func claims(_ slot: Int) -> Bool { slots[slot >> 3] & (1 << UInt8(slot & 7)) != 0 }
}

/// The cluster bus: a listener on the bus port, one outbound link per known node, and a timer that pings,
/// detects failures, expires handshakes and saves the config.
final class ClusterBus: @unchecked Sendable {
    private let node: NodeState
    private let controller: ClusterController
    let eventLoop: any EventLoop
    private var listener: (any Channel)?
    /// Outbound links by node id (touched only on `eventLoop`).
    private var links: [String: any Channel] = [:]
    /// When each outbound link was set up (ms), to drop a link that went silent (touched only on `eventLoop`).
    private var linkCreated: [String: Int64] = [:]
    private var connecting: Set<String> = []
    private var timer: RepeatedTask?
    private let logger: Logger

    init(node: NodeState, controller: ClusterController, eventLoop: any EventLoop, logger: Logger) {
        self.node = node
        self.controller = controller
        self.eventLoop = eventLoop
        self.logger = logger
    }

    func start(bind: String, port: Int) async throws {
        let bootstrap = ServerBootstrap(group: eventLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPTokenFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(BusHandler(bus: self, outboundPeer: nil))
                }
            }
        listener = try await bootstrap.bind(host: bind, port: port).get()
        timer = eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(50), delay: .milliseconds(100)) {
            [self] _ in
            self.tick()
        }
    }

    func stop() async {
        timer?.cancel()
        try? await listener?.close()
        let channels = try? await eventLoop.submit { [self] in Array(self.links.values) }.get()
        for channel in channels ?? [] { try? await channel.close() }
    }

    /// Sends a PUBLISH to every other node, which delivers it to its own subscribers (Redis Cluster broadcasts
    /// PUBLISH over the bus, so a subscriber may be connected to any node).
    func broadcastPublish(channel: ByteBuffer, payload: ByteBuffer) {
        var frame = ByteBuffer()
        frame.writeRESPHeader(.array, 3)
        frame.writeRESPBulkString("PUBLISH")
        frame.writeRESPBulkString(channel)
        frame.writeRESPBulkString(payload)
        let message = frame
        eventLoop.execute { [self] in
            for link in links.values { link.writeAndFlush(message, promise: nil) }
        }
    }

    /// `PUBLISH channel payload` from another node, or nil for any other message.
    static func publishedMessage(_ token: RESPToken) -> (channel: ByteBuffer, payload: ByteBuffer)? {
        guard case .array(let array) = token.value, array.count == 3 else { return nil }
        var fields: [ByteBuffer] = []
        for element in array {
            guard case .bulkString(let bytes) = element.value else { return nil }
            fields.append(bytes)
        }
        guard fields[0].readableBytesView.elementsEqual("PUBLISH".utf8) else { return nil }
        return (fields[1], fields[2])
    }

    /// Delivers a message another node published to this node's subscribers.
    func deliverPublished(channel: ByteBuffer, payload: ByteBuffer) {
        node.lock.withLock { _ = node.publish(channel: channel, payload: payload) }
    }

    /// Drops the outbound link to a forgotten node.
    func dropLink(to id: String) {
        eventLoop.execute { [self] in
            linkCreated.removeValue(forKey: id)
            links.removeValue(forKey: id)?.close(promise: nil)
        }
    }

    // MARK: Timer

    private var tickCount = 0

    /// Every 100 ms (clusterCron): connect missing links, ping, detect failures, expire handshakes, update
    /// `cluster_state`, save the config.
    private func tick() {
        tickCount &+= 1
        let now = NodeState.nowMilliseconds()
        var toConnect: [(id: String, ip: String, busPort: Int)] = []
        var toPing: [(String, ByteBuffer)] = []
        var toClose: [any Channel] = []
        var failed: [String] = []
        node.lock.withLock {
            let c = controller
            c.nodeTimeout = Int64(node.configuration.clusterNodeTimeout)
            let timeout = c.nodeTimeout
            var changed = false
            for (id, info) in c.state.nodes where id != c.state.myID {
                if info.flags.contains(.handshake) && now - info.createdAt > max(timeout, 1000) {
                    c.removeNode(id)
                    changed = true
                    continue
                }
                if let link = links[id] {
                    // A link that has carried nothing for half the timeout while a PING is pending is dropped
                    // and connected again: maybe the connection is at fault, not the node.
                    if now - (linkCreated[id] ?? now) > timeout && info.pingSent != 0
                        && now - info.pingSent > timeout / 2 && now - info.dataReceived > timeout / 2
                    {
                        toClose.append(link)
                    } else if info.pingSent == 0
                        && (tickCount % 5 == 0 || info.flags.contains(.handshake)
                            || now - info.pongReceived > timeout / 2)
                    {
                        // Ping each peer about twice a second, at once when a handshake is pending, and at least
                        // once every half node timeout.
                        c.state.nodes[id]?.pingSent = now
                        let kind: ClusterMessage.Kind = info.flags.contains(.meet) ? .meet : .ping
                        toPing.append((id, makeMessage(kind)))
                    }
                } else if !connecting.contains(id) && !info.ip.isEmpty {
                    toConnect.append((id, info.ip, info.busPort))
                }
                // Failure detection, linked or not: a PING pending, and no data, for longer than the node timeout.
                if c.state.checkTimeout(of: id, nodeTimeout: timeout, now: now) {
                    changed = true
                    c.logger.debug("node possibly failing", metadata: ["node": "\(id)"])
                    if c.state.myself.isMaster && c.state.primariesServingSlots.size == 1
                        && c.state.markFailingIfNeeded(id, nodeTimeout: timeout, now: now)
                    {
                        failed.append(id)
                    }
                }
            }
            if changed {
                c.changed()
            } else if !c.isOK {
                c.updateHealth(now: now)
            }
            c.saveIfNeeded()
            for id in failed {
                c.logger.notice("marking node as failing (quorum reached)", metadata: ["node": "\(id)"])
            }
        }
        for (id, message) in toPing {
            links[id]?.writeAndFlush(message, promise: nil)
            count(sent: "ping")
        }
        for link in toClose { link.close(promise: nil) }
        for id in failed { broadcastFail(about: id) }
        for target in toConnect { connect(target.id, ip: target.ip, busPort: target.busPort) }
    }

    /// Tells every linked node that `id` is FAIL (clusterSendFail), so they flag it without a quorum of their own.
    private func broadcastFail(about id: String) {
        guard let message = node.lock.withLock({ makeFailMessage(about: id) }) else { return }
        var sent = 0
        for link in links.values {
            link.writeAndFlush(message, promise: nil)
            sent += 1
        }
        node.lock.withLock { controller.state.stats.sent["fail", default: 0] += sent }
    }

    private func count(sent type: String) {
        node.lock.withLock { controller.state.stats.sent[type, default: 0] += 1 }
    }

    private func connect(_ id: String, ip: String, busPort: Int) {
        connecting.insert(id)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(1000))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPTokenFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(BusHandler(bus: self, outboundPeer: id))
                }
            }
            .connect(host: ip, port: busPort)
            .hop(to: eventLoop)
            .whenComplete { [self] result in
                connecting.remove(id)
                switch result {
                case .success(let channel):
                    // A PING at once on the new link (clusterLinkConnectHandler); a PING still pending from
                    // before keeps its time, so a node that keeps dropping links is still detected.
                    let ping = node.lock.withLock { () -> ByteBuffer? in
                        guard let info = controller.state.nodes[id] else { return nil }
                        let now = NodeState.nowMilliseconds()
                        controller.state.nodes[id]?.linkConnected = true
                        controller.state.nodes[id]?.pingSent = info.pingSent != 0 ? info.pingSent : now
                        controller.state.stats.sent["ping", default: 0] += 1
                        return makeMessage(info.flags.contains(.meet) ? .meet : .ping)
                    }
                    guard let ping else {
                        channel.close(promise: nil)
                        return
                    }
                    links[id] = channel
                    linkCreated[id] = NodeState.nowMilliseconds()
                    channel.writeAndFlush(ping, promise: nil)
                case .failure:
                    // As if a PING had been sent now (Redis, when a connect fails): without one pending, failure
                    // detection could never start for a node that went away.
                    node.lock.withLock {
                        guard let info = controller.state.nodes[id] else { return }
                        controller.state.nodes[id]?.linkConnected = false
                        if info.pingSent == 0 { controller.state.nodes[id]?.pingSent = NodeState.nowMilliseconds() }
                    }
                }
            }
    }

    /// An outbound link closed: forget it so the timer reconnects.
    fileprivate func linkClosed(_ id: String, channel: any Channel) {
        if let current = links[id], current === channel {
            links.removeValue(forKey: id)
            linkCreated.removeValue(forKey: id)
            node.lock.withLock { controller.state.nodes[id]?.linkConnected = false }
        }
    }

    // MARK: Messages

    /// This node's PING/PONG/MEET, with gossip about up to 10 other nodes plus every node flagged PFAIL (so
    /// failure reports reach a quorum fast, as Redis). Called under the lock.
    private func makeMessage(_ kind: ClusterMessage.Kind) -> ByteBuffer {
        var gossip: [ClusterMessage.Gossip] = []
        var possiblyFailed: [ClusterMessage.Gossip] = []
        for other in controller.state.nodes.values.shuffled()
        where other.id != controller.state.myID && !other.flags.contains(.handshake) && !other.ip.isEmpty {
            let entry = ClusterMessage.Gossip(
                id: other.id, ip: other.ip, port: other.port, busPort: other.busPort, flags: other.flags)
            if other.flags.contains(.possiblyFailed) {
                possiblyFailed.append(entry)
            } else if gossip.count < 10 {
                gossip.append(entry)
            }
        }
        return makeMessage(kind, gossip: gossip + possiblyFailed)
    }

    /// A FAIL message about `id`, nil when the node is unknown. Called under the lock.
    private func makeFailMessage(about id: String) -> ByteBuffer? {
        guard let failing = controller.state.nodes[id] else { return nil }
        let entry = ClusterMessage.Gossip(
            id: failing.id, ip: failing.ip, port: failing.port, busPort: failing.busPort, flags: failing.flags)
        return makeMessage(.fail, gossip: [entry])
    }

    /// A message of `kind` with this node's header (address, flags, epochs, slots) and `gossip`.
    private func makeMessage(_ kind: ClusterMessage.Kind, gossip: [ClusterMessage.Gossip]) -> ByteBuffer {
        let s = controller.state
        let me = s.myself
        var bitmap = [UInt8](repeating: 0, count: ClusterMessage.bitmapSize)
        let ownerID = me.isMaster ? me.id : (me.masterID ?? me.id)
        for slot in 0..<HashSlot.count where s.slotOwners[slot] == ownerID {
            bitmap[slot >> 3] |= 1 << UInt8(slot & 7)
        }
        var flags = me.flags
        flags.remove(.myself)
        let message = ClusterMessage(
            kind: kind, senderID: me.id, ip: me.ip, port: me.port, busPort: me.busPort, flags: flags,
            masterID: me.masterID, currentEpoch: s.currentEpoch, configEpoch: me.configEpoch, slots: bitmap,
            gossip: gossip)
        var buffer = ByteBuffer()
        message.encode(into: &buffer)
        return buffer
    }

    /// Handles a message from `channel`; returns the reply to send on the same channel, if any.
    fileprivate func handle(_ message: ClusterMessage, channel: any Channel, outboundPeer: String?) -> ByteBuffer? {
        let now = NodeState.nowMilliseconds()
        var failed: [String] = []
        let reply = node.lock.withLock { () -> ByteBuffer? in
            let c = controller
            c.state.stats.received[message.kind.rawValue.lowercased(), default: 0] += 1
            if c.state.blacklist[message.senderID].map({ $0 > now }) == true { return nil }
            if message.kind == .fail {
                handleFail(message, now: now)
                return nil
            }
            // Learn my own address from the first MEET/PING when bound to a wildcard.
            if c.state.myself.ip.isEmpty, let local = channel.localAddress?.ipAddress {
                c.state.myself.ip = local
                c.changed()
            }
            let remoteIP = channel.remoteAddress?.ipAddress ?? ""
            let senderIP = message.ip.isEmpty ? remoteIP : message.ip
            var senderKnown = c.state.nodes[message.senderID] != nil

            if message.kind == .pong, let peer = outboundPeer, peer != message.senderID,
                let pending = c.state.nodes[peer], pending.flags.contains(.handshake)
            {
                // Handshake done: the node we met by address answered with its real id.
                c.state.nodes.removeValue(forKey: peer)
                if !senderKnown {
                    var info = pending
                    info.id = message.senderID
                    info.flags = message.flags
                    info.flags.remove(.myself)
                    info.createdAt = now
                    c.state.nodes[message.senderID] = info
                    senderKnown = true
                }
                relink(from: peer, to: message.senderID)
                c.changed()
            } else if message.kind == .meet && !senderKnown && message.senderID != c.state.myID {
                var info = ClusterNodeInfo(
                    id: message.senderID, ip: senderIP, port: message.port, busPort: message.busPort,
                    flags: message.flags)
                info.flags.remove(.myself)
                info.createdAt = now
                c.state.nodes[message.senderID] = info
                senderKnown = true
                c.changed()
            } else if message.kind == .pong, let peer = outboundPeer, peer == message.senderID,
                c.state.nodes[peer]?.flags.contains(.handshake) == true
            {
                c.state.nodes[peer]?.flags.remove(.handshake)
                c.changed()
            }
            if senderKnown, var sender = c.state.nodes[message.senderID], message.senderID != c.state.myID {
                sender.dataReceived = now
                if message.kind == .pong {
                    sender.pongReceived = now
                    sender.pingSent = 0
                    sender.flags.remove(.meet)
                }
                if sender.ip != senderIP || sender.port != message.port || sender.busPort != message.busPort {
                    sender.ip = senderIP
                    sender.port = message.port
                    sender.busPort = message.busPort
                    c.changed()
                }
                let role: ClusterNodeFlags = message.flags.contains(.replica) ? .replica : .master
                if !sender.flags.contains(role) {
                    sender.flags.remove(.master)
                    sender.flags.remove(.replica)
                    sender.flags.insert(role)
                    c.changed()
                }
                if sender.masterID != message.masterID {
                    sender.masterID = message.masterID
                    c.changed()
                }
                if sender.configEpoch != message.configEpoch {
                    sender.configEpoch = message.configEpoch
                    c.changed()
                }
                c.state.nodes[message.senderID] = sender
                // The node answers: PFAIL goes at once, FAIL when clearNodeFailureIfNeeded allows it.
                if message.kind == .pong
                    && c.state.clearFailureIfNeeded(message.senderID, nodeTimeout: c.nodeTimeout, now: now)
                {
                    c.logger.notice("node reachable again", metadata: ["node": "\(message.senderID)"])
                    c.changed()
                }
                if message.currentEpoch > c.state.currentEpoch {
                    c.state.currentEpoch = message.currentEpoch
                    c.changed()
                }
                if sender.isMaster { updateSlots(from: message, sender: sender) }
                handleEpochCollision(sender)
                learnGossip(message.gossip, now: now)
                failed = processFailureReports(message.gossip, from: sender, now: now)
            }
            switch message.kind {
            case .ping, .meet:
                c.state.stats.sent["pong", default: 0] += 1
                return makeMessage(.pong)
            case .pong, .fail:
                return nil
            }
        }
        for id in failed { broadcastFail(about: id) }
        return reply
    }

    /// A FAIL message: the node it names is flagged FAIL at once (a quorum was reached by its sender).
    /// Called under the lock.
    private func handleFail(_ message: ClusterMessage, now: Int64) {
        let c = controller
        guard c.state.nodes[message.senderID] != nil, message.senderID != c.state.myID else { return }
        c.state.nodes[message.senderID]?.dataReceived = now
        guard let about = message.gossip.first, c.state.markFailed(about.id, now: now) else { return }
        c.logger.notice(
            "FAIL message received", metadata: ["from": "\(message.senderID)", "about": "\(about.id)"])
        c.changed()
    }

    /// Gossip from a primary about nodes it sees PFAIL or FAIL adds failure reports (removed when it sees them
    /// working); returns the nodes that just reached the FAIL quorum, to broadcast (clusterProcessGossipSection).
    /// Called under the lock.
    private func processFailureReports(_ gossip: [ClusterMessage.Gossip], from sender: ClusterNodeInfo, now: Int64)
        -> [String]
    {
        let c = controller
        guard sender.isMaster else { return [] }
        var failed: [String] = []
        for entry in gossip where entry.id != c.state.myID && entry.id != sender.id && c.state.nodes[entry.id] != nil {
            if entry.flags.contains(.possiblyFailed) || entry.flags.contains(.failed) {
                c.state.addFailureReport(about: entry.id, from: sender.id, now: now)
                if c.state.markFailingIfNeeded(entry.id, nodeTimeout: c.nodeTimeout, now: now) {
                    c.logger.notice("marking node as failing (quorum reached)", metadata: ["node": "\(entry.id)"])
                    failed.append(entry.id)
                    c.changed()
                }
            } else {
                c.state.removeFailureReport(about: entry.id, from: sender.id)
            }
        }
        return failed
    }

    /// Slots the sender claims with a newer config epoch than their current owner's become the sender's.
    private func updateSlots(from message: ClusterMessage, sender: ClusterNodeInfo) {
        let c = controller
        var changed = false
        for slot in 0..<HashSlot.count where message.claims(slot) {
            let owner = c.state.slotOwners[slot]
            if owner == sender.id { continue }
            if c.state.importing[slot] != nil { continue }
            if let owner, let ownerInfo = c.state.nodes[owner], ownerInfo.configEpoch >= sender.configEpoch {
                continue
            }
            if owner == c.state.myID, let keys = node.databases[0].slotIndex?.count(in: slot), keys > 0 {
                // Another node won my slot: its keys are no longer served here (Redis deletes them).
                deleteKeys(inSlot: slot)
            }
            if owner == c.state.myID {
                c.state.migrating.removeValue(forKey: slot)
                node.unsubscribeShardChannels(inSlot: slot)
            }
            c.state.slotOwners[slot] = sender.id
            changed = true
        }
        if changed { c.changed() }
    }

    private func deleteKeys(inSlot slot: Int) {
        guard let keys = node.databases[0].slotIndex?.keys[slot] else { return }
        for key in keys { node.databases[0].remove(key) }
    }

    /// Two primaries with the same config epoch: the one with the greater id... no, the smaller id loses and
    /// takes a new epoch (clusterHandleConfigEpochCollision).
    private func handleEpochCollision(_ sender: ClusterNodeInfo) {
        let c = controller
        let me = c.state.myself
        guard sender.configEpoch == me.configEpoch, sender.isMaster, me.isMaster else { return }
        guard sender.id > me.id else { return }
        c.state.currentEpoch += 1
        c.state.myself.configEpoch = c.state.currentEpoch
        c.changed()
    }

    /// Nodes mentioned in gossip that this node does not know yet are met.
    private func learnGossip(_ gossip: [ClusterMessage.Gossip], now: Int64) {
        let c = controller
        for entry in gossip where entry.id != c.state.myID && c.state.nodes[entry.id] == nil {
            if c.state.blacklist[entry.id].map({ $0 > now }) == true { continue }
            if entry.flags.contains(.noAddress) || entry.ip.isEmpty { continue }
            if c.state.nodes.values.contains(where: { $0.ip == entry.ip && $0.port == entry.port }) { continue }
            c.startHandshake(ip: entry.ip, port: entry.port, busPort: entry.busPort, now: now)
        }
    }

    /// Moves the outbound link of a handshake node to its real id.
    private func relink(from temporary: String, to real: String) {
        eventLoop.execute { [self] in
            let created = linkCreated.removeValue(forKey: temporary)
            if let channel = links.removeValue(forKey: temporary) {
                if links[real] == nil {
                    links[real] = channel
                    linkCreated[real] = created
                    if let handler = try? channel.pipeline.syncOperations.handler(type: BusHandler.self) {
                        handler.outboundPeer = real
                    }
                    node.lock.withLock { controller.state.nodes[real]?.linkConnected = true }
                } else {
                    channel.close(promise: nil)
                }
            }
        }
    }
}

/// Reads bus messages from one link and answers them.
final class BusHandler: ChannelInboundHandler {
    typealias InboundIn = RESPToken
    typealias OutboundOut = ByteBuffer

    private let bus: ClusterBus
    /// For outbound links, the id of the node this link goes to (temporary id during a handshake).
    var outboundPeer: String?

    init(bus: ClusterBus, outboundPeer: String?) {
        self.bus = bus
        self.outboundPeer = outboundPeer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let token = unwrapInboundIn(data)
        if let published = ClusterBus.publishedMessage(token) {
            bus.deliverPublished(channel: published.channel, payload: published.payload)
            return
        }
        guard let message = ClusterMessage(token) else {
            context.close(promise: nil)
            return
        }
        if let reply = bus.handle(message, channel: context.channel, outboundPeer: outboundPeer) {
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let outboundPeer { bus.linkClosed(outboundPeer, channel: context.channel) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

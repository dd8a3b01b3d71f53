import ClusterModel
import Foundation
import NIOCore
import RESP

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH pw] [AUTH2 user pw] [KEYS key...]
///
/// Like Redis, the transfer is synchronous: the source acts as a client of the target over a blocking socket
/// with the given timeout, sends `RESTORE-ASKING` (cluster mode) or `RESTORE` per key, then deletes the keys
/// it moved. The node lock stays held meanwhile, which keeps the move atomic; the blocking socket needs no
/// event loop, so this cannot deadlock.
func registerMigrateCommand(_ handlers: inout CommandHandlers) {
    handlers.register("migrate") { (inv: inout Invocation) throws(RedisError) in
        try migrate(&inv)
    }
}

private func migrate(_ inv: inout Invocation) throws(RedisError) {
    var copy = false
    var replace = false
    var auth: [String]?
    var firstKey = 3
    var keyCount = 1
    var i = 6
    while i < inv.args.count {
        let more = inv.args.count - i - 1
        if inv.isKeyword(i, "COPY") {
            copy = true
        } else if inv.isKeyword(i, "REPLACE") {
            replace = true
        } else if inv.isKeyword(i, "AUTH") {
            guard more >= 1 else { throw .syntax }
            auth = ["AUTH", inv.string(i + 1)]
            i += 1
        } else if inv.isKeyword(i, "AUTH2") {
            guard more >= 2 else { throw .syntax }
            auth = ["AUTH", inv.string(i + 1), inv.string(i + 2)]
            i += 2
        } else if inv.isKeyword(i, "KEYS") {
            guard inv.args[3].readableBytes == 0 else {
                throw RedisError("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string")
            }
            firstKey = i + 1
            keyCount = inv.args.count - i - 1
            i = inv.args.count
            continue
        } else {
            throw .syntax
        }
        i += 1
    }
    let host = inv.string(1)
    guard let port = inv.args[2].parseInt64(), let db = inv.args[4].parseInt64(), var timeout = inv.args[5].parseInt64()
    else { throw .notInteger }
    if timeout <= 0 { timeout = 1000 }

    // Keys that exist here, with their payloads and remaining TTLs.
    var items: [(key: ByteBuffer, ttl: Int64, payload: ByteBuffer)] = []
    for index in firstKey..<(firstKey + keyCount) where index < inv.args.count {
        let key = inv.args[index]
        guard let object = inv.lookupRead(key) else { continue }
        var ttl: Int64 = 0
        if let at = inv.db.expiry(of: key) {
            ttl = max(1, at - inv.now)
        }
        items.append((key, ttl, dumpPayload(object)))
    }
    guard !items.isEmpty else {
        inv.reply.simple("NOKEY")
        return
    }

    var request = ByteBuffer()
    var expectedReplies = 0
    if let auth {
        request.writeRESPCommand(auth)
        expectedReplies += 1
    }
    request.writeRESPCommand(["SELECT", String(db)])
    expectedReplies += 1
    let restore = ByteBuffer(string: inv.node.cluster != nil ? "RESTORE-ASKING" : "RESTORE")
    for item in items {
        var command = [restore, item.key, ByteBuffer(string: String(item.ttl)), item.payload]
        if replace { command.append(ByteBuffer(string: "REPLACE")) }
        request.writeRESPCommand(command)
        expectedReplies += 1
    }

    let replies: [RESPValue]
    do {
        replies = try BlockingRESPConnection.exchange(
            host: host, port: Int(port), request: request, replies: expectedReplies, timeoutMilliseconds: Int(timeout))
    } catch .connect {
        throw RedisError("IOERR error or timeout connecting to the client")
    } catch {
        throw RedisError("IOERR error or timeout reading to target instance")
    }
    var index = 0
    if auth != nil {
        if let message = replies[index].errorMessage { throw RedisError("ERR Target instance replied with error: \(message)") }
        index += 1
    }
    if let message = replies[index].errorMessage { throw RedisError("ERR Target instance replied with error: \(message)") }
    index += 1
    var firstError: String?
    var moved: [ByteBuffer] = []
    for item in items {
        if let message = replies[index].errorMessage {
            if firstError == nil { firstError = message }
        } else {
            moved.append(item.key)
        }
        index += 1
    }
    if !copy {
        for key in moved where inv.db.remove(key) {
            inv.touched(key)
            inv.propagate([ByteBuffer(string: "DEL"), key])
        }
    }
    if let firstError { throw RedisError("ERR Target instance replied with error: \(firstError)") }
    inv.reply.ok()
}

/// A one-shot blocking RESP exchange over a plain socket, with a deadline: used by MIGRATE.
enum BlockingRESPConnection {
    enum Failure: Error { case connect, io }

    static func exchange(host: String, port: Int, request: ByteBuffer, replies: Int, timeoutMilliseconds: Int)
        throws(Failure) -> [RESPValue]
    {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else { throw .connect }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { throw .connect }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeoutMilliseconds / 1000, tv_usec: (timeoutMilliseconds % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else { throw .connect }

        let sent = request.withUnsafeReadableBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let n = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        guard sent else { throw .io }

        var decoder = RESPDecoder()
        var input = ByteBuffer()
        var values: [RESPValue] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let deadline = NodeState.nowMilliseconds() + Int64(timeoutMilliseconds)
        while values.count < replies {
            do {
                while values.count < replies, let token = try decoder.decode(&input) {
                    values.append(RESPValue(token))
                }
            } catch {
                throw .io
            }
            if values.count == replies { break }
            guard NodeState.nowMilliseconds() < deadline else { throw .io }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw .io }
            input.writeBytes(chunk[0..<n])
        }
        return values
    }
}

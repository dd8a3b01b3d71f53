import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A peer program (redis-server, redis-cli, ...) started by a test on loopback, stopped by its PID.
public enum Peer {
    /// The absolute path of `name` on PATH, or nil.
    public static func path(of name: String) -> String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for dir in paths + ["/usr/sbin", "/usr/local/bin"] {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// True when `name` is installed, or when running in CI (where a missing peer must fail the test, not skip it).
    public static func isAvailable(_ name: String) -> Bool {
        path(of: name) != nil || ProcessInfo.processInfo.environment["CI"] != nil
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// True when `port` on 127.0.0.1 can be bound now.
    public static func canBind(_ port: Int) -> Bool {
        guard (1...65535).contains(port) else { return false }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        } == 0
    }

    /// The first of `count` consecutive free ports whose cluster bus ports (+10000) are free too, all below the
    /// kernel's ephemeral range (32768 and up), so that no outgoing connection can take one before a node binds it.
    public static func freeClusterPorts(count: Int) -> Int {
        for _ in 0..<1000 {
            let base = Int.random(in: 10_000...(22_700 - count))
            if (base..<(base + count)).allSatisfy({ canBind($0) && canBind($0 + 10_000) }) { return base }
        }
        return Int.random(in: 10_000...(22_700 - count))
    }

    /// Runs a program to completion with a time limit and returns its standard output.
    @discardableResult
    public static func run(
        _ executable: String, _ arguments: [String], input: Data? = nil, timeout: TimeInterval = 60
    ) throws -> (status: Int32, output: String, error: String) {
        guard let path = executable.hasPrefix("/") ? executable : path(of: executable) else {
            throw PeerError.notInstalled(executable)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        let inPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inPipe
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(input) }
        try? inPipe.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeout)
        // Read while waiting so a large output cannot fill the pipe and stall the child.
        let outData = LockedData()
        let errData = LockedData()
        let readers = DispatchGroup()
        for (pipe, sink) in [(out, outData), (err, errData)] {
            readers.enter()
            DispatchQueue.global().async {
                sink.append(pipe.fileHandleForReading.readDataToEndOfFile())
                readers.leave()
            }
        }
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw PeerError.timedOut("\(executable) \(arguments.joined(separator: " "))")
        }
        process.waitUntilExit()
        readers.wait()
        return (process.terminationStatus, outData.string, errData.string)
    }
}

/// Failures of starting or driving a peer.
public enum PeerError: Error, CustomStringConvertible {
    case notInstalled(String)
    case timedOut(String)
    case notReady(String)

    public var description: String {
        switch self {
        case .notInstalled(let name): return "\(name) is not installed (apt-get install redis-server redis-tools)"
        case .timedOut(let what): return "timed out: \(what)"
        case .notReady(let what): return "did not become ready: \(what)"
        }
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ more: Data) { lock.withLock { data.append(more) } }
    var string: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}

/// A real `redis-server` started by a test on a free 127.0.0.1 port, with persistence off, in a temporary
/// directory; `stop()` sends SIGTERM to its PID and removes the directory.
public final class RedisServerProcess: @unchecked Sendable {
    public let port: Int
    public let directory: URL
    private let process: Process

    /// True when redis-server is installed (or in CI, where its absence must fail loudly).
    public static var isAvailable: Bool { Peer.isAvailable("redis-server") }

    private init(port: Int, directory: URL, process: Process) {
        self.port = port
        self.directory = directory
        self.process = process
    }

    /// Starts redis-server with `extraArguments` (e.g. `["--cluster-enabled", "yes"]`) and waits until it answers.
    public static func start(extraArguments: [String] = []) async throws -> RedisServerProcess {
        guard let path = Peer.path(of: "redis-server") else { throw PeerError.notInstalled("redis-server") }
        var lastError: Error = PeerError.notReady("redis-server")
        let clusterMode = extraArguments.contains("--cluster-enabled")
        for _ in 0..<5 {
            var port = Peer.freePort()
            // A cluster node also needs its bus port, port + 10000, to be a valid port.
            while clusterMode && port + 10000 > 65535 { port = Peer.freePort() }
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("keyway-redis-\(port)-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = [
                "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--dir", directory.path, "--logfile", directory.appendingPathComponent("redis.log").path,
            ] + extraArguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let server = RedisServerProcess(port: port, directory: directory, process: process)
            do {
                try await server.waitUntilReady()
                return server
            } catch {
                lastError = error
                server.stop()
            }
        }
        throw lastError
    }

    private func waitUntilReady() async throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            guard process.isRunning else { throw PeerError.notReady("redis-server exited on port \(port)") }
            if let client = try? await RESPTestClient.connect(port: port) {
                defer { client.close() }
                if case .simpleString("PONG")? = try? await client.command(["PING"]) { return }
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw PeerError.notReady("redis-server on port \(port)")
    }

    /// Stops the server by its PID and removes its directory.
    public func stop() {
        // The test runner's children inherit a blocked SIGTERM, so a test server is killed outright: it keeps
        // no data worth saving (persistence is off).
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

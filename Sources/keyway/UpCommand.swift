import ArgumentParser
import ClusterModel
import Foundation
import KeywayAdmin
import KeywayProxy
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// `keyway up`: a whole local cluster in one command: `keyway node` primaries on loopback, formed into a Redis
/// Cluster, and the proxy in front of them.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start a local cluster (keyway nodes + the proxy) on loopback; Ctrl-C stops everything.",
        discussion: """
            With no options: three `keyway node` primaries on 127.0.0.1:7001-7003 sharing the 16384 slots, and the \
            proxy on 127.0.0.1:6380. Connect with `redis-cli -p 6380`.
            With --redis-cluster host:port the proxy fronts an existing cluster instead and no node is started.
            """
    )

    @Option(help: "Number of keyway node primaries to start.")
    var nodes = 3

    @Option(help: "Port of the first node; the others follow it.")
    var basePort = 7001

    @Option(help: "Directory for the nodes' data (default: a new temporary directory).")
    var dir: String?

    @Option(help: "Front an existing cluster (host:port of any of its nodes) instead of starting nodes.")
    var redisCluster: String?

    @OptionGroup var options: ProxyOptions

    @OptionGroup(title: "Admin endpoint") var admin: AdminOptions

    func validate() throws {
        guard (1...64).contains(nodes) else { throw ValidationError("--nodes must be 1...64") }
        guard basePort > 0, basePort + nodes - 1 <= 55535 else {
            throw ValidationError("node ports must leave room for their cluster bus ports (port + 10000 <= 65535)")
        }
        if let redisCluster { _ = try parseSeeds(redisCluster) }
    }

    func run() async throws {
        var children: [Process] = []
        // Until the proxy runs, Ctrl-C or SIGTERM simply ends the process; the nodes follow (--exit-with-parent).
        // One watcher for the whole run (libdispatch keeps one handler per signal): until the proxy runs, Ctrl-C
        // ends the process and the nodes follow (--exit-with-parent); then it stops the proxy, which stops them.
        let onSignal = NIOLockedValueBox<@Sendable () -> Void>({ Foundation.exit(130) })
        let signals = SignalWatcher(signals: [SIGINT, SIGTERM]) { onSignal.withLockedValue { $0 }() }
        defer { signals.cancel() }
        let seeds: [Endpoint]
        if let redisCluster {
            seeds = try parseSeeds(redisCluster)
        } else {
            let root = try dataDirectory()
            let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            let endpoints = (0..<nodes).map { Endpoint(host: "127.0.0.1", port: basePort + $0) }
            do {
                for endpoint in endpoints {
                    let directory = root.appendingPathComponent("node-\(endpoint.port)")
                    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: executable)
                    process.arguments = [
                        "node", "--port", String(endpoint.port), "--bind", "127.0.0.1", "--cluster-enabled",
                        "--dir", directory.path, "--log-level", "warning", "--exit-with-parent",
                    ]
                    process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
                    try process.run()
                    children.append(process)
                }
                try await ClusterFormation(endpoints: endpoints, eventLoop: MultiThreadedEventLoopGroup.singleton.next()).form()
            } catch {
                stop(children)
                throw error
            }
            seeds = endpoints
            say("keyway up: \(nodes) keyway node primaries on 127.0.0.1:\(basePort)-\(basePort + nodes - 1) (data in \(root.path))")
        }
        let server = ProxyServer(configuration: options.configuration(seeds: seeds), logger: options.logger)
        let port: Int
        do {
            port = try await server.start()
        } catch {
            stop(children)
            throw error
        }
        say("keyway proxy on \(options.bind):\(port)")
        let adminServer: AdminServer?
        do {
            adminServer = try await startProxyAdmin(server, admin: admin, logger: options.logger)
        } catch {
            await server.stop()
            stop(children)
            throw error
        }
        say("connect with: redis-cli -p \(port)")
        say("Ctrl-C stops everything.")
        onSignal.withLockedValue { $0 = { server.stopAccepting() } }
        try? await server.waitUntilClosed()
        try? await adminServer?.close()
        await server.stop()
        stop(children)
        say("keyway up: stopped")
    }

    private func dataDirectory() throws -> URL {
        if let dir {
            let url = URL(fileURLWithPath: dir)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            return url
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("keyway-up-\(getpid())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private func stop(_ children: [Process]) {
        for child in children where child.isRunning { child.terminate() }
        let deadline = Date().addingTimeInterval(5)
        for child in children {
            while child.isRunning && Date() < deadline { usleep(20_000) }
            if child.isRunning { kill(child.processIdentifier, SIGKILL) }
        }
    }
}

/// Turns fresh cluster-mode nodes into one cluster: slots split evenly, distinct config epochs, MEET, then waits
/// until every node reports `cluster_state:ok` and knows every other node.
struct ClusterFormation {
    let endpoints: [Endpoint]
    let eventLoop: any EventLoop

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func form(timeout: TimeInterval = 60) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        for endpoint in endpoints {
            try await waitUntilReachable(endpoint, deadline: deadline)
        }
        if try await isFormed() { return }
        let count = endpoints.count
        for (index, endpoint) in endpoints.enumerated() {
            let low = index * HashSlot.count / count
            let high = (index + 1) * HashSlot.count / count - 1
            let replies = try await SimpleClient.send(
                [["CLUSTER", "ADDSLOTSRANGE", String(low), String(high)], ["CLUSTER", "SET-CONFIG-EPOCH", String(index + 1)]],
                to: endpoint, on: eventLoop)
            if let error = replies[0].errorText, !error.contains("already busy") {
                throw Failure(description: "\(endpoint): CLUSTER ADDSLOTSRANGE: \(error)")
            }
        }
        for endpoint in endpoints.dropFirst() {
            let reply = try await SimpleClient.command(
                ["CLUSTER", "MEET", endpoints[0].host, String(endpoints[0].port)], to: endpoint, on: eventLoop)
            if let error = reply.errorText { throw Failure(description: "\(endpoint): CLUSTER MEET: \(error)") }
        }
        while Date() < deadline {
            if try await isFormed() { return }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw Failure(description: "the cluster did not reach cluster_state:ok within \(Int(timeout)) s")
    }

    private func waitUntilReachable(_ endpoint: Endpoint, deadline: Date) async throws {
        while true {
            if let reply = try? await SimpleClient.command(["PING"], to: endpoint, on: eventLoop),
                reply.stringValue == "PONG"
            {
                return
            }
            guard Date() < deadline else { throw Failure(description: "\(endpoint) did not start") }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    private func isFormed() async throws -> Bool {
        for endpoint in endpoints {
            let reply = try await SimpleClient.command(["CLUSTER", "INFO"], to: endpoint, on: eventLoop)
            let text = reply.stringValue ?? ""
            guard text.contains("cluster_state:ok"), text.contains("cluster_known_nodes:\(endpoints.count)\r") else {
                return false
            }
        }
        return true
    }
}

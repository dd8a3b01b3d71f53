import Foundation
@testable import KeywayNode
import RESP
import TestSupport

/// Starts an in-process `keyway node` on a free loopback port for a test, and stops it afterwards.
struct NodeHarness {
    let server: NodeServer

    var port: Int { server.port }

    static func start(clusterEnabled: Bool = false, configure: (inout NodeConfiguration) -> Void = { _ in })
        async throws -> NodeHarness
    {
        var configuration = NodeConfiguration()
        configuration.port = 0
        configuration.clusterEnabled = clusterEnabled
        configuration.threads = 2
        // Cluster config files go to a directory of the test's own, never the working directory.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keyway-node-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        configuration.directory = directory.path
        configure(&configuration)
        return NodeHarness(server: try await NodeServer.start(configuration: configuration))
    }

    func client() async throws -> RESPTestClient {
        try await RESPTestClient.connect(port: port)
    }

    func stop() async {
        await server.shutdown()
    }
}

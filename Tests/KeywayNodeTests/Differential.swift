import Foundation
import RESP
import TestSupport
import Testing

/// Sends the same commands to a real redis-server and to a `keyway node` and compares every reply.
///
/// Both servers start empty; pass `resp3: true` to send `HELLO 3` first on both connections.
struct Differential {
    let redis: RedisServerProcess
    let node: NodeHarness
    let redisClient: RESPTestClient
    let nodeClient: RESPTestClient

    static func start(clusterEnabled: Bool = false, resp3: Bool = false) async throws -> Differential {
        let redis = try await RedisServerProcess.start(
            extraArguments: clusterEnabled ? ["--cluster-enabled", "yes"] : [])
        let node: NodeHarness
        do {
            node = try await NodeHarness.start(clusterEnabled: clusterEnabled)
        } catch {
            redis.stop()
            throw error
        }
        let redisClient = try await RESPTestClient.connect(port: redis.port)
        let nodeClient = try await node.client()
        if resp3 {
            _ = try await redisClient.command(["HELLO", "3"])
            _ = try await nodeClient.command(["HELLO", "3"])
        }
        return Differential(redis: redis, node: node, redisClient: redisClient, nodeClient: nodeClient)
    }

    /// Runs `commands` on both servers; records an issue for each differing reply unless `compare` accepts it.
    /// Returns the number of mismatches.
    @discardableResult
    func run(
        _ commands: [[String]],
        compare: (_ command: [String], _ redis: RESPValue, _ node: RESPValue) -> Bool = { _, a, b in a == b },
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Int {
        var mismatches = 0
        for command in commands {
            let expected = try await redisClient.command(command)
            let actual = try await nodeClient.command(command)
            if !compare(command, expected, actual) {
                mismatches += 1
                Issue.record(
                    "\(command.joined(separator: " ")): redis \(expected) vs keyway \(actual)",
                    sourceLocation: sourceLocation)
            }
        }
        return mismatches
    }

    func stop() async {
        redisClient.close()
        nodeClient.close()
        redis.stop()
        await node.stop()
    }
}

/// Compares two replies as unordered collections (SMEMBERS, HGETALL of large hashes, KEYS...).
func unorderedEqual(_ a: RESPValue, _ b: RESPValue) -> Bool {
    switch (a, b) {
    case (.array(let x), .array(let y)), (.set(let x), .set(let y)):
        return x.count == y.count && x.map(\.description).sorted() == y.map(\.description).sorted()
    default:
        return a == b
    }
}

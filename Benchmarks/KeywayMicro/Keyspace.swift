import Benchmark
import KeywayNode
import NIOCore
import NIOEmbedded
import RESP

/// Keyspace operations on the node's real data structures, through its real command path: each benchmark runs a
/// pipeline of about 1,000 commands through an `InProcessClient` (node lock, command table, arity check, statistics,
/// handler, effects, RESP reply), exactly as a connection's handler runs a pipelined read, without sockets.
func keyspaceBenchmarks() {
    let keys = SetPipeline().keys
    let value = ByteBuffer(string: "value-of-16-byte")
    let members = keys
    let count = keys.count

    // Each case: the commands run once before measuring (to fill the keyspace), and the pipeline measured. Every
    // measured pipeline leaves the keyspace as it found it, or overwrites it with the same, so that every run does the
    // same work (INCR's counters only grow by one digit now and then).
    let cases: [(name: String, setup: [[ByteBuffer]], pipeline: [[ByteBuffer]])] = [
        (
            "Keyspace.SET.1000-keys", [],
            keys.map { [ByteBuffer(string: "SET"), $0, value] }
        ),
        (
            "Keyspace.GET.1000-keys", keys.map { [ByteBuffer(string: "SET"), $0, value] },
            keys.map { [ByteBuffer(string: "GET"), $0] }
        ),
        (
            "Keyspace.INCR.1000-keys", keys.map { [ByteBuffer(string: "SET"), $0, ByteBuffer(string: "0")] },
            keys.map { [ByteBuffer(string: "INCR"), $0] }
        ),
        (
            "Keyspace.LPUSH-LPOP.500-elements", [],
            (0..<count / 2).map { [ByteBuffer(string: "LPUSH"), ByteBuffer(string: "list"), members[$0]] }
                + (0..<count / 2).map { _ in [ByteBuffer(string: "LPOP"), ByteBuffer(string: "list")] }
        ),
        (
            "Keyspace.SADD.1000-members-then-DEL", [],
            members.map { [ByteBuffer(string: "SADD"), ByteBuffer(string: "set"), $0] }
                + [[ByteBuffer(string: "DEL"), ByteBuffer(string: "set")]]
        ),
        (
            "Keyspace.HSET.1000-fields-then-DEL", [],
            members.map { [ByteBuffer(string: "HSET"), ByteBuffer(string: "hash"), $0, value] }
                + [[ByteBuffer(string: "DEL"), ByteBuffer(string: "hash")]]
        ),
        (
            "Keyspace.ZADD.1000-members-then-DEL", [],
            members.indices.map {
                [ByteBuffer(string: "ZADD"), ByteBuffer(string: "zset"), ByteBuffer(string: String($0)), members[$0]]
            } + [[ByteBuffer(string: "DEL"), ByteBuffer(string: "zset")]]
        ),
    ]

    for (name, setup, pipeline) in cases {
        var nodeConfiguration = NodeConfiguration()
        // The slow log would record (and allocate for) whichever command a preemption happens to stretch.
        nodeConfiguration.slowlogSlowerThan = -1
        let client = InProcessClient(configuration: nodeConfiguration, eventLoop: EmbeddedEventLoop())
        var output = ByteBuffer()
        client.execute(pipeline: setup, appendingRepliesTo: &output)
        output.clear()
        client.execute(pipeline: pipeline, appendingRepliesTo: &output)
        precondition(
            KeyspaceFixture.errorReply(in: output) == nil,
            "\(name): \(KeyspaceFixture.errorReply(in: output) ?? "")")
        microBenchmark(name) {
            output.clear()
            client.execute(pipeline: pipeline, appendingRepliesTo: &output)
            blackHole(output.readableBytes)
        }
    }
}

/// Checks on the replies of a keyspace pipeline.
enum KeyspaceFixture {
    /// The first error reply among `replies`, if any: a benchmark of commands that fail would measure the errors.
    static func errorReply(in replies: ByteBuffer) -> String? {
        var input = replies
        var decoder = RESPDecoder()
        while let token = try? decoder.decode(&input) {
            switch token.value {
            case .simpleError(let text), .bulkError(let text): return String(buffer: text)
            default: continue
            }
        }
        return nil
    }
}

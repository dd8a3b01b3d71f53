import Benchmark
import ClusterModel
import NIOCore
import RESP

/// Hot-path micro benchmarks: RESP decode/encode of a 1,000-command pipeline and hash-slot computation.
/// Run with `KEYWAY_BENCHMARKS=1 swift package benchmark --target KeywayMicro`.
let benchmarks: @Sendable () -> Void = {
    let commandCount = 1_000
    let value = [UInt8](repeating: 0x76, count: 16)
    let keys: [ByteBuffer] = (0..<commandCount).map { i in
        ByteBuffer(string: "key:" + String(repeating: "0", count: 6 - String(i).count) + String(i))
    }
    let setName = ByteBuffer(string: "SET")
    let valueBuffer = ByteBuffer(bytes: value)
    var pipeline = ByteBuffer()
    for key in keys { pipeline.writeRESPCommand([setName, key, valueBuffer]) }
    let frozenPipeline = pipeline

    let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, .instructions]
    let configuration = Benchmark.Configuration(metrics: metrics, maxDuration: .seconds(3), maxIterations: 100_000)

    Benchmark("RESP decode requests: 1,000 x SET key:NNNNNN <16 B> (server side)", configuration: configuration) {
        benchmark in
        for _ in benchmark.scaledIterations {
            var decoder = RESPRequestDecoder()
            var input = frozenPipeline
            var decoded = 0
            while let request = try? decoder.decode(&input) {
                decoded &+= request.arguments.count
            }
            blackHole(decoded)
        }
    }

    Benchmark("RESP decode tokens: 1,000 x SET key:NNNNNN <16 B> (validate only)", configuration: configuration) {
        benchmark in
        for _ in benchmark.scaledIterations {
            var decoder = RESPDecoder()
            var input = frozenPipeline
            var decoded = 0
            while let token = try? decoder.decode(&input) {
                decoded &+= token.base.readableBytes
            }
            blackHole(decoded)
        }
    }

    Benchmark("RESP encode: 1,000 x SET key:NNNNNN <16 B>", configuration: configuration) { benchmark in
        var output = ByteBuffer()
        output.reserveCapacity(frozenPipeline.readableBytes)
        for _ in benchmark.scaledIterations {
            output.clear()
            for key in keys {
                output.writeRESPHeader(.array, 3)
                output.writeRESPBulkString(setName)
                output.writeRESPBulkString(key)
                output.writeRESPBulkString(valueBuffer)
            }
            blackHole(output.readableBytes)
        }
    }

    Benchmark("Hash slot: 1,000 keys key:NNNNNN", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            var sum = 0
            for key in keys { sum &+= Int(HashSlot(key: key).rawValue) }
            blackHole(sum)
        }
    }

    Benchmark("Hash slot: 1,000 keys with {tag}", configuration: configuration) { benchmark in
        let tagged = keys.map { ByteBuffer(string: "{user}" + String(buffer: $0)) }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var sum = 0
            for key in tagged { sum &+= Int(HashSlot(key: key).rawValue) }
            blackHole(sum)
        }
    }
}

import Benchmark
import ClusterModel
import NIOCore
import RESP

/// A pipeline of 1,000 `SET key:NNNNNN <16-byte value>` requests, its keys and its parts, shared by the suites.
struct SetPipeline {
    static let commandCount = 1_000
    let keys: [ByteBuffer]
    let name = ByteBuffer(string: "SET")
    let value = ByteBuffer(bytes: [UInt8](repeating: 0x76, count: 16))
    /// The requests as a client sends them.
    let bytes: ByteBuffer

    init() {
        keys = (0..<Self.commandCount).map { ByteBuffer(string: "key:" + Self.sixDigits($0)) }
        var bytes = ByteBuffer()
        for key in keys { bytes.writeRESPCommand([name, key, value]) }
        self.bytes = bytes
    }

    /// `i` with leading zeros to six digits.
    static func sixDigits(_ i: Int) -> String {
        let digits = String(i)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }
}

/// RESP decode (request decoder and token validation) and encode of a 1,000-command pipeline.
func respBenchmarks() {
    let pipeline = SetPipeline()
    let frozenPipeline = pipeline.bytes

    microBenchmark("RESP.decode-requests.1000xSET") {
        var decoder = RESPRequestDecoder()
        var input = frozenPipeline
        var decoded = 0
        while let request = try? decoder.decode(&input) {
            decoded &+= request.arguments.count
        }
        blackHole(decoded)
    }

    microBenchmark("RESP.decode-tokens.1000xSET") {
        var decoder = RESPDecoder()
        var input = frozenPipeline
        var decoded = 0
        while let token = try? decoder.decode(&input) {
            decoded &+= token.base.readableBytes
        }
        blackHole(decoded)
    }

    var output = ByteBuffer()
    output.reserveCapacity(frozenPipeline.readableBytes)
    microBenchmark("RESP.encode.1000xSET") {
        output.clear()
        for key in pipeline.keys {
            output.writeRESPHeader(.array, 3)
            output.writeRESPBulkString(pipeline.name)
            output.writeRESPBulkString(key)
            output.writeRESPBulkString(pipeline.value)
        }
        blackHole(output.readableBytes)
    }
}

/// Hash-slot computation (CRC16 and hash tags) of 1,000 keys.
func hashSlotBenchmarks() {
    let keys = SetPipeline().keys
    let tagged = keys.map { ByteBuffer(string: "{user}" + String(buffer: $0)) }

    microBenchmark("HashSlot.1000-keys") {
        var sum = 0
        for key in keys { sum &+= Int(HashSlot(key: key).rawValue) }
        blackHole(sum)
    }

    microBenchmark("HashSlot.1000-tagged-keys") {
        var sum = 0
        for key in tagged { sum &+= Int(HashSlot(key: key).rawValue) }
        blackHole(sum)
    }
}

import Foundation
import NIOCore
import Testing

@testable import KeywayNode

@Suite("Scores and floats formatted as Redis 7.0 does (%.17g)")
struct NumberFormatTests {
    /// The reference: C's `%.17g` through Foundation, as the node formatted doubles before.
    private func reference(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        return String(format: "%.17g", value)
    }

    @Test("Integral, fractional, tiny, huge, negative zero and special values")
    func specialCases() {
        let values: [Double] = [
            0, -0.0, 1, -1, 5000, 99_999, 1e14, 1e15 - 1, 1e15, -1e15, 1e16, 1e17, 1e22, 123_456_789_012_345_680,
            0.1, -0.1, 1.5, 2.5e-5, 1e-4, 1e-5, 3.141592653589793, 1.0 / 3, Double.leastNonzeroMagnitude,
            Double.leastNormalMagnitude, Double.greatestFiniteMagnitude, -Double.greatestFiniteMagnitude,
            .infinity, -.infinity, .nan, 4_503_599_627_370_496, 9_007_199_254_740_992,
        ]
        for value in values {
            #expect(RedisNumber.format(value) == reference(value), "\(value)")
        }
        #expect(RedisNumber.format(-0.0) == "-0")
        #expect(RedisNumber.format(5000) == "5000")
    }

    @Test("Random doubles of every magnitude format as %.17g")
    func randomValues() {
        var random = SeededGenerator(seed: 99)
        for _ in 0..<20_000 {
            let bits = UInt64.random(in: 0...UInt64.max, using: &random)
            let value = Double(bitPattern: bits)
            #expect(RedisNumber.format(value) == reference(value))
            let integral = Double(Int64.random(in: -2_000_000_000_000_000...2_000_000_000_000_000, using: &random))
            #expect(RedisNumber.format(integral) == reference(integral))
            let scaled = Double(Int.random(in: -1_000_000...1_000_000, using: &random)) / 1024
            #expect(RedisNumber.format(scaled) == reference(scaled))
        }
    }

    @Test("RESP2 and RESP3 double replies carry the same text")
    func replies() {
        var resp2 = ReplyWriter(buffer: ByteBuffer(), resp3: false)
        resp2.double(2.5)
        #expect(String(buffer: resp2.buffer) == "$3\r\n2.5\r\n")
        var resp3 = ReplyWriter(buffer: ByteBuffer(), resp3: true)
        resp3.double(-0.0)
        resp3.double(.infinity)
        #expect(String(buffer: resp3.buffer) == ",-0\r\n,inf\r\n")
    }
}

import NIOCore
import PropertyBased
import RESP
import Testing

/// RESP3 doubles: the decoder's own parser (with its exact fast path) agrees with the standard library bit for bit.
@Suite struct DoubleTests {
    func decodeDouble(_ text: String) -> Double? {
        guard let token = RESPToken(validating: buf("," + text + "\r\n")), case .double(let d) = token.value else { return nil }
        return d
    }

    func sameBits(_ a: Double?, _ b: Double?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN)
    }

    /// Random decimal spellings: digits, a point anywhere, an exponent, signs, leading and trailing zeros.
    static let decimalText = Generator<String, Shrink.None<String>> { rng in
        let digits = (0..<Int.random(in: 1...24, using: &rng)).map { _ in
            Int.random(in: 0..<4, using: &rng) == 0 ? "0" : String(Int.random(in: 0...9, using: &rng))
        }
        var text = Bool.random(using: &rng) ? "" : ["-", "+"].randomElement(using: &rng)!
        let point = Int.random(in: -1...digits.count, using: &rng)
        for (i, digit) in digits.enumerated() {
            if i == point { text += "." }
            text += digit
        }
        if point == digits.count { text += "." }
        if Bool.random(using: &rng) {
            text += ["e", "E"].randomElement(using: &rng)! + ["", "+", "-"].randomElement(using: &rng)!
            let largest = Bool.random(using: &rng) ? 30 : 400
            text += String(Int.random(in: 0...largest, using: &rng))
        }
        return text
    }

    @Test func decimalSpellingsMatchTheStandardLibrary() async {
        await propertyCheck(count: 3000, input: Self.decimalText) { text in
            #expect(sameBits(decodeDouble(text), Double(text)), "\(text)")
        }
    }

    @Test func everyDoubleRoundTripsThroughTheEncoder() async {
        await propertyCheck(count: 3000, input: Gen.uint64()) { bits in
            let d = Double(bitPattern: bits)
            #expect(sameBits(decodeDouble(ByteBuffer.formatDouble(d)), d), "\(d)")
        }
    }

    @Test func exactFastPathBoundaries() {
        for text in ["9007199254740992", "9007199254740993", "9007199254740995", "1e22", "1e23", "4.9e-324", "2.2250738585072014e-308",
                     "0.1e-22", "1234567890123456789", "12345678901234567890", "0.30000000000000004", "179769313486231570e291"] {
            #expect(sameBits(decodeDouble(text), Double(text)), "\(text)")
        }
    }
}

import Foundation

/// SplitMix64: a fast, small, well-mixed pseudo-random generator; one per client, no shared state.
struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0 ..< bound` (multiply-shift: one multiplication, no division).
    mutating func next(below bound: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Uniform in [0, 1).
    mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}

/// Draws key numbers from `0 ..< keyspace` following a `KeyPattern`; one per client.
public struct KeyGenerator: Sendable {
    enum Mode: Sendable {
        case uniform
        case sequential(step: Int)
        case zipf(ZipfSampler)
        case gaussian(mean: Double, deviation: Double)
        case fixed([Int])
    }

    let keyspace: Int
    var mode: Mode
    var rng: SplitMix64
    var position: Int

    /// A generator for client `client` of `clients`.
    public init(pattern: KeyPattern, keyspace: Int, client: Int = 0, clients: Int = 1, seed: UInt64 = 1) {
        self.keyspace = max(1, keyspace)
        self.rng = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: client) &* 0xD1B5_4A32_D192_ED03))
        self.position = client % self.keyspace
        switch pattern {
        case .uniform: mode = .uniform
        case .sequential: mode = .sequential(step: max(1, clients))
        case .zipf(let s): mode = .zipf(ZipfSampler(count: self.keyspace, exponent: s))
        case .gaussian: mode = .gaussian(mean: Double(self.keyspace) / 2, deviation: Double(self.keyspace) / 6)
        }
    }

    /// Yields `keys` in order, then repeats them (for tests and template expansion).
    init(fixed keys: [Int]) {
        keyspace = Int.max
        mode = .fixed(keys)
        rng = SplitMix64(seed: 0)
        position = 0
    }

    /// The next key number.
    public mutating func next() -> Int {
        switch mode {
        case .uniform:
            return rng.next(below: keyspace)
        case .sequential(let step):
            let key = position
            position &+= step
            if position >= keyspace { position %= keyspace }
            return key
        case .zipf(let sampler):
            return sampler.sample(&rng) &- 1
        case .gaussian(let mean, let deviation):
            while true {
                // Box-Muller; one of the pair is enough here.
                let u1 = max(rng.nextUnit(), Double.leastNonzeroMagnitude)
                let u2 = rng.nextUnit()
                let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
                let value = (mean + z * deviation).rounded(.down)
                if value >= 0 && value < Double(keyspace) { return Int(value) }
            }
        case .fixed(let keys):
            guard !keys.isEmpty else { return 0 }
            let key = keys[position % keys.count]
            position &+= 1
            return key
        }
    }
}

/// Zipf's law over ranks `1 ... count` with exponent `s`, sampled in O(1) without tables by Hörmann and
/// Derflinger's rejection-inversion method ("Rejection-inversion to generate variates from monotone discrete
/// distributions", 1996), as in Apache Commons RNG.
struct ZipfSampler: Sendable {
    let count: Double
    let exponent: Double
    let hIntegralX1: Double
    let hIntegralN: Double
    let s: Double

    init(count: Int, exponent: Double) {
        self.count = Double(count)
        self.exponent = exponent
        let x1 = Self.hIntegral(1.5, exponent) - 1
        hIntegralX1 = x1
        hIntegralN = Self.hIntegral(Double(count) + 0.5, exponent)
        s = 2 - Self.hIntegralInverse(Self.hIntegral(2.5, exponent) - Self.h(2, exponent), exponent)
    }

    /// A rank in `1 ... count`.
    func sample(_ rng: inout SplitMix64) -> Int {
        while true {
            let u = hIntegralN + rng.nextUnit() * (hIntegralX1 - hIntegralN)
            let x = Self.hIntegralInverse(u, exponent)
            var k = (x + 0.5).rounded(.down)
            if k < 1 { k = 1 } else if k > count { k = count }
            if k - x <= s || u >= Self.hIntegral(k + 0.5, exponent) - Self.h(k, exponent) {
                return Int(k)
            }
        }
    }

    static func h(_ x: Double, _ e: Double) -> Double { exp(-e * log(x)) }

    static func hIntegral(_ x: Double, _ e: Double) -> Double {
        let logX = log(x)
        return helper2((1 - e) * logX) * logX
    }

    static func hIntegralInverse(_ x: Double, _ e: Double) -> Double {
        var t = x * (1 - e)
        if t < -1 { t = -1 }
        return exp(helper1(t) * x)
    }

    /// `log1p(x) / x`, continuous at 0.
    static func helper1(_ x: Double) -> Double {
        abs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x))
    }

    /// `expm1(x) / x`, continuous at 0.
    static func helper2(_ x: Double) -> Double {
        abs(x) > 1e-8 ? expm1(x) / x : 1 + x * 0.5 * (1 + x * (1.0 / 3) * (1 + 0.25 * x))
    }
}

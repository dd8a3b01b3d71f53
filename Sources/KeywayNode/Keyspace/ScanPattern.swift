import NIOCore

/// Redis's glob-style patterns (`stringmatchlen` in util.c), reproduced byte for byte: `*`, `?`, `[abc]`,
/// `[^a]`, `[a-z]`, `\x` escapes, and the same handling of malformed patterns and of bytes above 0x7F.
///
/// Used by KEYS, SCAN MATCH and the other `*SCAN`/pub-sub pattern users, which must select exactly the keys
/// Redis selects.
enum RedisGlob {
    /// Whether `string` matches `pattern`; `noCase` folds ASCII letters as Redis's `nocase` flag does.
    static func matches(pattern: ByteBuffer, _ string: ByteBuffer, noCase: Bool = false) -> Bool {
        pattern.withUnsafeReadableBytes { p in
            string.withUnsafeReadableBytes { s in matches(pattern: p, string: s, noCase: noCase) }
        }
    }

    /// Whether `pattern` is the single `*` that matches everything (KEYS and SCAN skip matching then).
    static func matchesEverything(_ pattern: ByteBuffer) -> Bool {
        pattern.readableBytes == 1 && pattern.getInteger(at: pattern.readerIndex, as: UInt8.self) == UInt8(ascii: "*")
    }

    static func matches(pattern: UnsafeRawBufferPointer, string: UnsafeRawBufferPointer, noCase: Bool) -> Bool {
        var skipLongerMatches = false
        return match(pattern, 0, string, 0, noCase, &skipLongerMatches, depth: 0)
    }

    /// Deepest `*` nesting evaluated (each `*` group recurses once): past it the pattern does not match, the
    /// protection against abusive patterns that later Redis versions added (CVE-2024-31228), which also keeps
    /// the recursion well within a thread's stack.
    private static let maxDepth = 1000

    /// The byte at `i` as C's (signed) `char`, or 0 past the end (Redis's arguments are NUL-terminated).
    @inline(__always)
    private static func at(_ buffer: UnsafeRawBufferPointer, _ i: Int) -> Int {
        i < buffer.count ? Int(Int8(bitPattern: buffer[i])) : 0
    }

    @inline(__always)
    private static func lower(_ c: Int) -> Int { c >= 65 && c <= 90 ? c + 32 : c }

    private static func match(
        _ pattern: UnsafeRawBufferPointer, _ start: Int, _ string: UnsafeRawBufferPointer, _ stringStart: Int,
        _ noCase: Bool, _ skipLongerMatches: inout Bool, depth: Int
    ) -> Bool {
        if depth > maxDepth { return false }
        var p = start
        var s = stringStart
        let patternEnd = pattern.count
        let stringEnd = string.count
        while p < patternEnd && s < stringEnd {
            switch at(pattern, p) {
            case 42:  // '*'
                while p < patternEnd && at(pattern, p + 1) == 42 { p += 1 }
                if patternEnd - p == 1 { return true }
                while s < stringEnd {
                    if match(pattern, p + 1, string, s, noCase, &skipLongerMatches, depth: depth + 1) { return true }
                    if skipLongerMatches { return false }
                    s += 1
                }
                skipLongerMatches = true
                return false
            case 63:  // '?'
                s += 1
            case 91:  // '['
                p += 1
                let not = at(pattern, p) == 94  // '^'
                if not { p += 1 }
                var matched = false
                let c0 = at(string, s)
                while true {
                    let pc = at(pattern, p)
                    if pc == 92 && patternEnd - p >= 2 {  // '\\'
                        p += 1
                        if at(pattern, p) == c0 { matched = true }
                    } else if pc == 93 {  // ']'
                        break
                    } else if p >= patternEnd {
                        p -= 1
                        break
                    } else if patternEnd - p >= 3 && at(pattern, p + 1) == 45 {  // '-'
                        var low = pc
                        var high = at(pattern, p + 2)
                        var c = c0
                        if low > high { swap(&low, &high) }
                        if noCase {
                            low = lower(low)
                            high = lower(high)
                            c = lower(c)
                        }
                        p += 2
                        if c >= low && c <= high { matched = true }
                    } else if noCase ? lower(pc) == lower(c0) : pc == c0 {
                        matched = true
                    }
                    p += 1
                }
                if not { matched = !matched }
                if !matched { return false }
                s += 1
            default:
                if at(pattern, p) == 92 && patternEnd - p >= 2 { p += 1 }  // '\\' escapes the next byte
                let pc = at(pattern, p)
                let sc = at(string, s)
                if noCase ? lower(pc) != lower(sc) : pc != sc { return false }
                s += 1
            }
            p += 1
            if s == stringEnd {
                while at(pattern, p) == 42 && p < patternEnd { p += 1 }
                break
            }
        }
        return p == patternEnd && s == stringEnd
    }
}

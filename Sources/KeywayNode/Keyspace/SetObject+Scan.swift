import NIOCore

/// What HSCAN, SSCAN and ZSCAN share: the cursor and the options (matching is `RedisGlob`, as SCAN's).
///
/// An object in a small encoding (listpack, intset) is returned whole with cursor 0, as Redis does. Otherwise
/// the cursor walks the object's dense storage from the end towards the start: removals move the last entry into
/// the hole, which is always a position already visited, so every entry present for the whole scan is returned
/// at least once (Redis's SCAN guarantee).
struct CollectionScan {
    var count = 10
    /// nil when every element matches (no MATCH, or MATCH `*`).
    var pattern: ByteBuffer?

    /// Parses a cursor as Redis's `parseScanCursorOrReply` (strtoul, base 10), or `ERR invalid cursor`.
    static func parseCursor(_ buffer: ByteBuffer) throws(RedisError) -> UInt64 {
        guard let cursor = parseScanCursor(buffer) else { throw RedisError("ERR invalid cursor") }
        return cursor
    }

    /// Parses `[MATCH pattern] [COUNT count]` from argument `from` on, as `scanGenericCommand`.
    static func parseOptions(_ inv: Invocation, from: Int) throws(RedisError) -> CollectionScan {
        var scan = CollectionScan()
        var i = from
        let args = inv.args
        while i < args.count {
            let remaining = args.count - i
            if inv.isKeyword(i, "COUNT") && remaining >= 2 {
                let count = try inv.integer(i + 1)
                if count < 1 { throw .syntax }
                scan.count = Int(clamping: count)
                i += 2
            } else if inv.isKeyword(i, "MATCH") && remaining >= 2 {
                let pattern = args[i + 1]
                scan.pattern = RedisGlob.matchesEverything(pattern) ? nil : pattern
                i += 2
            } else {
                throw .syntax
            }
        }
        return scan
    }

    /// Whether `element` passes the MATCH filter.
    func matches(_ element: some LexComparable) -> Bool {
        guard let pattern else { return true }
        return pattern.withUnsafeReadableBytes { p in
            element.withUnsafeReadableBytes { RedisGlob.matches(pattern: p, string: $0, noCase: false) }
        }
    }

    /// Whether the integer `value` (an intset member) passes the MATCH filter.
    func matches(integer value: Int64) -> Bool {
        guard pattern != nil else { return true }
        var text = ByteBuffer()
        text.writeDecimal(value)
        return matches(text)
    }

    /// The positions to visit for `cursor` in dense storage of `size` entries, and the cursor to return.
    func window(cursor: UInt64, size: Int) -> (positions: Range<Int>, next: UInt64) {
        let upper = cursor == 0 ? size : Int(min(cursor, UInt64(size)))
        let lower = max(0, upper - count)
        return (lower..<upper, lower == 0 ? 0 : UInt64(lower))
    }
}

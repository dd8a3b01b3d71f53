import NIOConcurrencyHelpers
import NIOCore

/// SCAN over a database whose dictionary reorders itself on every resize.
///
/// A cursor is a position in the 64-bit space of the keys' hash values: a call returns the keys whose hash
/// lies between the cursor and the next cursor, so every key present for the whole scan is returned exactly
/// when the scan passes its hash, whatever happens to the dictionary in between (Redis's guarantee). The
/// keys are found through a snapshot bucketed by the top bits of their hash; any snapshot taken after the
/// scan started contains every key present for the whole scan, so one snapshot per database is shared by all
/// scans, rebuilt when a scan starts (cursor 0) and released when one completes.
final class KeyspaceScanner: @unchecked Sendable {
    /// One scanner for the process; snapshots are per database object.
    static let shared = KeyspaceScanner()

    private let lock = NIOLock()
    private var snapshots: [ObjectIdentifier: Snapshot] = [:]

    private final class Snapshot {
        weak var database: Database?
        /// Keys are bucketed by the top `bits` bits of their hash.
        let bits: Int
        /// `keys[starts[b]..<starts[b + 1]]` are bucket `b`'s keys.
        let starts: [UInt32]
        let keys: [ByteBuffer]
        let hashes: [UInt64]

        init(database: Database) {
            self.database = database
            let count = database.count
            // About four keys per bucket: small enough to walk, large enough to keep the index compact.
            var bits = 1
            while bits < 22 && (1 << bits) < count / 4 { bits += 1 }
            self.bits = bits
            let shift = UInt64(64 - bits)
            var unsorted: [ByteBuffer] = []
            var unsortedHashes: [UInt64] = []
            unsorted.reserveCapacity(count)
            unsortedHashes.reserveCapacity(count)
            for key in database.keys {
                unsorted.append(key)
                unsortedHashes.append(scanHash(key))
            }
            var starts = [UInt32](repeating: 0, count: (1 << bits) + 1)
            for hash in unsortedHashes { starts[Int(hash >> shift) + 1] += 1 }
            for b in 0..<(1 << bits) { starts[b + 1] += starts[b] }
            var next = starts
            var keys = [ByteBuffer](repeating: ByteBuffer(), count: unsorted.count)
            var hashes = [UInt64](repeating: 0, count: unsorted.count)
            for i in 0..<unsorted.count {
                let b = Int(unsortedHashes[i] >> shift)
                let slot = Int(next[b])
                keys[slot] = unsorted[i]
                hashes[slot] = unsortedHashes[i]
                next[b] += 1
            }
            self.starts = starts
            self.keys = keys
            self.hashes = hashes
        }
    }

    /// Collects the keys of one SCAN step from `cursor`: whole buckets until at least `count` keys present in
    /// `database` were seen. Returns the next cursor (0 when the scan is complete) and those keys, which may
    /// include logically expired keys (the caller filters them as Redis does).
    ///
    /// A cursor is the lower bound of the hashes still to visit, shifted right by `cursorShift` bits: cursors stay
    /// below 2^54 like Redis's (which are bucket indexes), so that a proxy can pack a node number next to one.
    func step(_ database: Database, cursor clientCursor: UInt64, count: Int) -> (next: UInt64, keys: [ByteBuffer]) {
        guard clientCursor >> (64 - Self.cursorShift) == 0 else { return (0, []) }
        let cursor = clientCursor << Self.cursorShift
        return lock.withLock {
            let id = ObjectIdentifier(database)
            let snapshot: Snapshot
            if cursor != 0, let existing = snapshots[id], existing.database === database {
                snapshot = existing
            } else {
                snapshots = snapshots.filter { $0.value.database != nil }
                snapshot = Snapshot(database: database)
                snapshots[id] = snapshot
            }
            let shift = UInt64(64 - snapshot.bits)
            let bucketCount = 1 << snapshot.bits
            var bucket = Int(cursor >> shift)
            var found: [ByteBuffer] = []
            while bucket < bucketCount {
                let range = Int(snapshot.starts[bucket])..<Int(snapshot.starts[bucket + 1])
                for i in range where snapshot.hashes[i] >= cursor && database.contains(snapshot.keys[i]) {
                    found.append(snapshot.keys[i])
                }
                bucket += 1
                if found.count >= count { break }
            }
            if bucket >= bucketCount {
                snapshots[id] = nil
                return (0, found)
            }
            return ((UInt64(bucket) << shift) >> Self.cursorShift, found)
        }
    }

    /// Bits dropped from a hash bound to make a cursor; bucket bounds have at least this many low zero bits, as
    /// long as a snapshot has at most 2^(64 - cursorShift) buckets.
    static let cursorShift: UInt64 = 10
}

/// The hash that orders keys for SCAN: stable for the life of the process.
@inline(__always)
private func scanHash(_ key: ByteBuffer) -> UInt64 {
    UInt64(bitPattern: Int64(key.hashValue))
}

/// Parses a SCAN cursor as Redis does (`strtoul` base 10): optional sign, digits, nothing else; a leading
/// space, trailing garbage or overflow is `ERR invalid cursor`; an empty string is cursor 0. Parsing stops at a
/// NUL byte, as it does on Redis's NUL-terminated argument.
func parseScanCursor(_ buffer: ByteBuffer) -> UInt64? {
    buffer.withUnsafeReadableBytes { all -> UInt64? in
        let bytes = UnsafeRawBufferPointer(rebasing: all[..<(all.firstIndex(of: 0) ?? all.count)])
        if bytes.isEmpty { return 0 }
        var i = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "+") || bytes[0] == UInt8(ascii: "-") {
            negative = bytes[0] == UInt8(ascii: "-")
            i = 1
        }
        guard i < bytes.count else { return nil }
        var value: UInt64 = 0
        while i < bytes.count {
            let d = bytes[i] &- UInt8(ascii: "0")
            guard d <= 9 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            value = a
            i += 1
        }
        return negative ? 0 &- value : value
    }
}

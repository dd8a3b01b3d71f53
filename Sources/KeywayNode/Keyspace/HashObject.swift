import NIOCore

/// A hash: fields and their values.
///
/// Follows Redis 7.0's two encodings so that replies come in the same order: while small (at most 512 fields,
/// Redis's `listpack`) fields keep insertion order, deletions included; past that (Redis's `hashtable`) the order
/// is unspecified and a deletion moves the last field into the hole, in O(1).
///
/// For code outside the hash commands (DUMP/RESTORE, OBJECT ENCODING, DEBUG):
/// - iterate every entry with `for (field, value) in hash.fields`, in the order Redis would reply (`fieldNames`
///   and `values` for one side only);
/// - build one from entries with `HashObject(entries:)` (the buffers are copied into storage of their own);
/// - `encodingName` is what OBJECT ENCODING reports.
final class HashObject {
    /// `hash-max-listpack-entries`: 512 is Redis 7.0's built-in default (the sample redis.conf says 128).
    static let maxListpackEntries = 512
    /// `hash-max-listpack-value`.
    static let maxListpackValue = 64

    /// Every field (hashed once, short ones inline: see `KeyspaceKey`) and its value (short ones inline too),
    /// in reply order.
    private var table = KeyTable<CompactBytes>()
    /// True while the hash is small enough for Redis's listpack encoding (insertion order).
    private(set) var isListpack = true

    init() {}

    /// A hash holding `entries` (later duplicates of a field replace earlier ones).
    convenience init<Entries: Sequence>(entries: Entries) where Entries.Element == (field: ByteBuffer, value: ByteBuffer) {
        self.init()
        for (field, value) in entries { set(field, value) }
    }

    var count: Int { table.count }
    var isEmpty: Bool { table.isEmpty }

    /// Every field and its value, in reply order.
    var fields: LazyMapSequence<KeyTable<CompactBytes>, (field: ByteBuffer, value: CompactBytes)> {
        table.lazy.map { (field: $0.0.buffer, value: $0.1) }
    }

    /// The fields, in reply order (random access for HSCAN and sampling).
    var fieldNames: LazyMapCollection<[KeyspaceKey], ByteBuffer> {
        table.keys.lazy.map(\.buffer)
    }

    /// The values, in reply order.
    var values: [CompactBytes] { table.values }
    /// The encoding OBJECT ENCODING reports.
    var encodingName: String { isListpack ? "listpack" : "hashtable" }

    subscript(field: ByteBuffer) -> CompactBytes? { table[KeyspaceKey(field)] }

    /// The entry at `index` (`0..<count`), for random sampling.
    func entry(at index: Int) -> (field: ByteBuffer, value: CompactBytes) {
        (table.keys[index].buffer, table.values[index])
    }

    /// Switches to the hash table encoding when a field or value about to be stored is longer than listpack allows.
    private func convertIfTooLong(_ fieldLength: Int, _ valueLength: Int) {
        if isListpack && (fieldLength > Self.maxListpackValue || valueLength > Self.maxListpackValue) {
            isListpack = false
        }
    }

    /// Sets `field` to `value` (both copied into storage of their own); true if the field is new.
    /// A field or value longer than listpack allows switches to the hash table encoding, as `hashTypeSet`.
    @discardableResult
    func set(_ field: ByteBuffer, _ value: ByteBuffer) -> Bool {
        convertIfTooLong(field.readableBytes, value.readableBytes)
        let stored = CompactBytes(compacting: value)
        let key = KeyspaceKey(field)
        if let index = table.index(forKey: key) {
            table.setValue(stored, at: index)
            return false
        }
        table.append(key.compacted(), stored)
        if isListpack && table.count > Self.maxListpackEntries { isListpack = false }
        return true
    }

    /// Removes `field`; true if it existed.
    @discardableResult
    func remove(_ field: ByteBuffer) -> Bool {
        guard let index = table.index(forKey: KeyspaceKey(field)) else { return false }
        if isListpack {
            table.remove(at: index)
        } else {
            table.swapRemove(at: index)
        }
        return true
    }
}

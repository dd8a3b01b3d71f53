import NIOCore
import OrderedCollections

/// A hash: fields and their values.
///
/// Follows Redis 7.0's two encodings so that replies come in the same order: while small (at most 512 fields,
/// Redis's `listpack`) fields keep insertion order, deletions included; past that (Redis's `hashtable`) the order
/// is unspecified and a deletion moves the last field into the hole, in O(1).
///
/// For code outside the hash commands (DUMP/RESTORE, OBJECT ENCODING, DEBUG):
/// - iterate every entry with `for (field, value) in hash.fields`, in the order Redis would reply;
/// - build one from entries with `HashObject(entries:)` (the buffers are copied into storage of their own);
/// - `encodingName` is what OBJECT ENCODING reports.
final class HashObject {
    /// `hash-max-listpack-entries`: 512 is Redis 7.0's built-in default (the sample redis.conf says 128).
    static let maxListpackEntries = 512
    /// `hash-max-listpack-value`.
    static let maxListpackValue = 64

    /// Every field and its value, in reply order.
    private(set) var fields: OrderedDictionary<ByteBuffer, ByteBuffer> = [:]
    /// True while the hash is small enough for Redis's listpack encoding (insertion order).
    private(set) var isListpack = true

    init() {}

    /// A hash holding `entries` (later duplicates of a field replace earlier ones).
    convenience init<Entries: Sequence>(entries: Entries) where Entries.Element == (field: ByteBuffer, value: ByteBuffer) {
        self.init()
        for (field, value) in entries { set(field, value) }
    }

    var count: Int { fields.count }
    var isEmpty: Bool { fields.isEmpty }
    /// The encoding OBJECT ENCODING reports.
    var encodingName: String { isListpack ? "listpack" : "hashtable" }

    subscript(field: ByteBuffer) -> ByteBuffer? { fields[field] }

    /// The entry at `index` (`0..<count`), for random sampling.
    func entry(at index: Int) -> (field: ByteBuffer, value: ByteBuffer) {
        let element = fields.elements[index]
        return (element.key, element.value)
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
        let stored = value.compacted()
        if let index = fields.index(forKey: field) {
            fields.values[index] = stored
            return false
        }
        fields[field.compacted()] = stored
        if isListpack && fields.count > Self.maxListpackEntries { isListpack = false }
        return true
    }

    /// Removes `field`; true if it existed.
    @discardableResult
    func remove(_ field: ByteBuffer) -> Bool {
        guard let index = fields.index(forKey: field) else { return false }
        if isListpack {
            fields.remove(at: index)
        } else {
            let last = fields.count - 1
            if index != last { fields.swapAt(index, last) }
            fields.removeLast()
        }
        return true
    }
}

import Foundation
import NIOCore

// DUMP/RESTORE payloads in Redis 7.0's own format: one RDB-encoded object (RDB version 10), then the 2-byte
// RDB version and the CRC64 (Jones polynomial) of everything before it, little-endian. Being Redis's format,
// payloads move between keyway nodes (MIGRATE, resharding) and to and from real Redis 7.0 in both directions.
//
// Writing follows Redis: integer and LZF string encodings, listpacks for small hashes and sorted sets, intsets
// for small integer sets, quicklists of listpacks for lists, so a DUMP is byte-identical to Redis's for the
// same content wherever Redis's own layout does not depend on its hash tables. Reading accepts every encoding
// a Redis 7.0 DUMP (or an older Redis's) can contain for the five types: plain, ziplist, listpack, intset
// and quicklist forms.

/// The RDB version Redis 7.0 writes; payloads from a newer version are refused, as Redis does.
let dumpRDBVersion: UInt16 = 10

/// Serializes `object` as a DUMP payload.
func dumpPayload(_ object: RedisObject) -> ByteBuffer {
    var writer = RDBWriter()
    writer.writeObject(object)
    var bytes = writer.bytes
    bytes.append(UInt8(dumpRDBVersion & 0xFF))
    bytes.append(UInt8(dumpRDBVersion >> 8))
    let crc = CRC64.checksum(bytes)
    for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: crc >> (8 * UInt64(i)))) }
    return ByteBuffer(bytes: bytes)
}

/// Deserializes a DUMP payload; nil if its version or checksum is wrong or its data is malformed.
func restoreObject(from payload: ByteBuffer) -> RedisObject? {
    try? DumpPayload.decode(payload).get()
}

/// Why a payload was refused, with the error RESTORE replies.
enum DumpPayloadError: Error {
    /// `ERR DUMP payload version or checksum are wrong`
    case versionOrChecksum
    /// `ERR Bad data format`
    case badData

    var redisError: RedisError {
        switch self {
        case .versionOrChecksum: return RedisError("ERR DUMP payload version or checksum are wrong")
        case .badData: return RedisError("ERR Bad data format")
        }
    }
}

enum DumpPayload {
    /// Checks the footer (version, CRC64) like Redis's `verifyDumpPayload`, then decodes the object.
    static func decode(_ payload: ByteBuffer) -> Result<RedisObject, DumpPayloadError> {
        payload.withUnsafeReadableBytes { bytes in
            guard bytes.count >= 10 else { return .failure(.versionOrChecksum) }
            let footer = bytes.count - 10
            let version = UInt16(bytes[footer]) | UInt16(bytes[footer + 1]) << 8
            guard version <= dumpRDBVersion else { return .failure(.versionOrChecksum) }
            var stored: UInt64 = 0
            for i in 0..<8 { stored |= UInt64(bytes[footer + 2 + i]) << (8 * UInt64(i)) }
            guard CRC64.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 8)])) == stored else {
                return .failure(.versionOrChecksum)
            }
            var reader = RDBReader(bytes: UnsafeRawBufferPointer(rebasing: bytes[0..<footer]))
            guard let object = reader.readObject() else { return .failure(.badData) }
            return .success(object)
        }
    }
}

// MARK: - Encodings (what OBJECT ENCODING reports, and which RDB form DUMP writes)

/// Redis 7.0's default thresholds between compact and full encodings.
enum EncodingLimits {
    static let hashMaxListpackEntries = 128
    static let hashMaxListpackValue = 64
    static let setMaxIntsetEntries = 512
    static let zsetMaxListpackEntries = 128
    static let zsetMaxListpackValue = 64
    /// `list-max-listpack-size -2`: quicklist nodes of at most 8 KB.
    static let listMaxListpackBytes = 8192
    /// Redis's `OBJ_ENCODING_EMBSTR_SIZE_LIMIT`.
    static let embstrSizeLimit = 44
}

/// The encoding Redis 7.0 would use for a value with this content (`OBJECT ENCODING`).
func objectEncodingName(_ object: RedisObject) -> String {
    switch object {
    case .string(let value): return StringEncoding.of(value).name
    case .list: return "quicklist"
    case .hash(let hash): return hash.encodingName
    case .set(let set): return set.encodingName
    case .zset(let zset): return zset.encodingName
    }
}

/// How a string value is encoded in Redis: `int`, `embstr` or `raw`.
///
/// Redis decides from the content when a value is stored by SET and friends, but APPEND and SETRANGE leave a
/// `raw` string and INCRBYFLOAT an `embstr` one whatever the content; those values carry a marker in the
/// bytes before their reader index (1 spare byte: raw, 2: embstr), which no reader of the value sees.
enum StringEncoding {
    case int(Int64)
    case embstr
    case raw

    var name: String {
        switch self {
        case .int: return "int"
        case .embstr: return "embstr"
        case .raw: return "raw"
        }
    }

    /// A stored value's encoding: inline values were stored unmarked (SET, INCR...), so theirs follows the content.
    static func of(_ value: CompactBytes) -> StringEncoding {
        switch value {
        case .buffer(let buffer): return of(buffer)
        case .inline: return value.withUnsafeReadableBytes(byContent)
        }
    }

    static func of(_ value: ByteBuffer) -> StringEncoding {
        switch value.readerIndex {
        case 1: return .raw
        case 2: return value.readableBytes <= EncodingLimits.embstrSizeLimit ? .embstr : .raw
        default: return value.withUnsafeReadableBytes(byContent)
        }
    }

    /// `tryObjectEncoding`'s choice for an unmarked value: an integer of at most 20 characters, else by length.
    private static func byContent(_ bytes: UnsafeRawBufferPointer) -> StringEncoding {
        if bytes.count <= 20, let number = bytes.parseInt64() { return .int(number) }
        return bytes.count <= EncodingLimits.embstrSizeLimit ? .embstr : .raw
    }

    /// A stored value that reports `raw` (APPEND, SETRANGE), with room to grow.
    static func rawValue(_ bytes: ByteBuffer, extraCapacity: Int = 0) -> ByteBuffer {
        marked(bytes, marker: 1, extraCapacity: extraCapacity)
    }

    /// A stored value that reports `embstr` even if it looks like an integer (INCRBYFLOAT).
    static func embstrValue(_ text: String) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: text.utf8.count + 2)
        buffer.writeInteger(UInt16(0))
        buffer.writeString(text)
        buffer.moveReaderIndex(forwardBy: 2)
        return buffer
    }

    private static func marked(_ bytes: ByteBuffer, marker: Int, extraCapacity: Int) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.readableBytes + marker + extraCapacity)
        buffer.writeRepeatingByte(0, count: marker)
        buffer.writeImmutableBuffer(bytes)
        buffer.moveReaderIndex(forwardBy: marker)
        return buffer
    }
}

// MARK: - Access to the aggregate objects (kept small so that the object classes can change underneath)

extension ListObject {
    var dumpElements: BlockList { items }
    static func dumpMake(_ elements: [ByteBuffer]) -> ListObject {
        ListObject(BlockList(elements.lazy.map { CompactBytes(compacting: $0) }))
    }
}

extension HashObject {
    var dumpCount: Int { count }
    func dumpForEach(_ body: (ByteBuffer, ByteBuffer) -> Void) {
        for (field, value) in fields { body(field, value.buffer) }
    }
    /// A hash of `pairs`; nil if a field repeats (Redis refuses such payloads).
    static func dumpMake(_ pairs: [(ByteBuffer, ByteBuffer)]) -> HashObject? {
        let hash = HashObject(entries: pairs.lazy.map { (field: $0.0, value: $0.1) })
        return hash.count == pairs.count ? hash : nil
    }
    /// Whether the hash is in Redis's listpack encoding.
    var dumpUsesListpack: Bool { isListpack }
}

extension SetObject {
    var dumpCount: Int { count }
    func dumpForEach(_ body: (ByteBuffer) -> Void) {
        forEach { body($0) }
    }
    /// A set of `members`; nil if a member repeats (Redis refuses such payloads).
    static func dumpMake(_ members: [ByteBuffer]) -> SetObject? {
        let set = SetObject(members: members)
        return set.count == members.count ? set : nil
    }
    /// The members in ascending order if the set is in Redis's intset encoding, else nil.
    func dumpIntsetValues() -> [Int64]? {
        guard isIntset else { return nil }
        var values: [Int64] = []
        values.reserveCapacity(count)
        forEachMember { member in
            switch member {
            case .integer(let value): values.append(value)
            case .bytes(let bytes): if let value = bytes.parseInt64() { values.append(value) }
            }
        }
        return values.count == count ? values.sorted() : nil
    }
}

extension ZSetObject {
    var dumpCount: Int { count }
    /// Members with their scores in ascending (score, member) order.
    func dumpSortedEntries() -> [(member: ByteBuffer, score: Double)] {
        var entries: [(member: ByteBuffer, score: Double)] = []
        entries.reserveCapacity(count)
        forEach { entries.append((member: $0.buffer, score: $1)) }
        return entries
    }
    /// A sorted set of `entries`; nil if a member repeats or a score is NaN (Redis refuses such payloads).
    static func dumpMake(_ entries: [(ByteBuffer, Double)]) -> ZSetObject? {
        guard !entries.contains(where: { $0.1.isNaN }) else { return nil }
        let zset = ZSetObject(entries: entries.lazy.map { (member: $0.0, score: $0.1) })
        return zset.count == entries.count ? zset : nil
    }
    /// Whether the sorted set is in Redis's listpack encoding.
    var dumpUsesListpack: Bool { isListpack }
}

/// A deep copy of a value, as COPY makes (string encodings are kept, like Redis's `dupStringObject`).
func duplicateObject(_ object: RedisObject) -> RedisObject {
    switch object {
    case .string(let value):
        return .string(value)
    case .list(let list):
        return .list(ListObject(list.dumpElements))
    case .hash(let hash):
        var pairs: [(ByteBuffer, ByteBuffer)] = []
        pairs.reserveCapacity(hash.dumpCount)
        hash.dumpForEach { pairs.append(($0, $1)) }
        return .hash(HashObject.dumpMake(pairs) ?? HashObject())
    case .set(let set):
        var members: [ByteBuffer] = []
        members.reserveCapacity(set.dumpCount)
        set.dumpForEach { members.append($0) }
        return .set(SetObject.dumpMake(members) ?? SetObject())
    case .zset(let zset):
        return .zset(ZSetObject.dumpMake(zset.dumpSortedEntries().map { ($0.member, $0.score) }) ?? ZSetObject())
    }
}

/// memcmp-then-length ordering of two byte strings (Redis's `sdscmp`).
func compareBytes(_ a: ByteBuffer, _ b: ByteBuffer) -> Int {
    a.withUnsafeReadableBytes { x in
        b.withUnsafeReadableBytes { y in
            let n = min(x.count, y.count)
            if n > 0, let xb = x.baseAddress, let yb = y.baseAddress {
                let c = memcmp(xb, yb, n)
                if c != 0 { return Int(c) }
            }
            return x.count - y.count
        }
    }
}

// MARK: - RDB object encoding

private enum RDBType {
    static let string: UInt8 = 0
    static let list: UInt8 = 1
    static let set: UInt8 = 2
    static let zset: UInt8 = 3
    static let hash: UInt8 = 4
    static let zset2: UInt8 = 5
    static let hashZipmap: UInt8 = 9
    static let listZiplist: UInt8 = 10
    static let setIntset: UInt8 = 11
    static let zsetZiplist: UInt8 = 12
    static let hashZiplist: UInt8 = 13
    static let listQuicklist: UInt8 = 14
    static let hashListpack: UInt8 = 16
    static let zsetListpack: UInt8 = 17
    static let listQuicklist2: UInt8 = 18
}

private struct RDBWriter {
    var bytes: [UInt8] = []

    mutating func writeObject(_ object: RedisObject) {
        switch object {
        case .string(let value):
            bytes.append(RDBType.string)
            if case .int(let number) = StringEncoding.of(value) {
                writeInteger(asString: number)
            } else {
                value.withUnsafeReadableBytes { writeString($0) }
            }
        case .list(let list):
            bytes.append(RDBType.listQuicklist2)
            writeQuicklist(list.dumpElements)
        case .hash(let hash):
            if hash.dumpUsesListpack {
                bytes.append(RDBType.hashListpack)
                var listpack = ListpackWriter()
                hash.dumpForEach { field, value in
                    field.withUnsafeReadableBytes { listpack.append($0) }
                    value.withUnsafeReadableBytes { listpack.append($0) }
                }
                listpack.finish().withUnsafeBytes { writeString($0) }
            } else {
                bytes.append(RDBType.hash)
                writeLength(UInt64(hash.dumpCount))
                hash.dumpForEach { field, value in
                    field.withUnsafeReadableBytes { writeString($0) }
                    value.withUnsafeReadableBytes { writeString($0) }
                }
            }
        case .set(let set):
            if let values = set.dumpIntsetValues() {
                bytes.append(RDBType.setIntset)
                Intset.encode(values).withUnsafeBytes { writeString($0) }
            } else {
                bytes.append(RDBType.set)
                writeLength(UInt64(set.dumpCount))
                set.dumpForEach { member in member.withUnsafeReadableBytes { writeString($0) } }
            }
        case .zset(let zset):
            let entries = zset.dumpSortedEntries()
            if zset.dumpUsesListpack {
                bytes.append(RDBType.zsetListpack)
                var listpack = ListpackWriter()
                for entry in entries {
                    entry.member.withUnsafeReadableBytes { listpack.append($0) }
                    let score = Array(formatScoreD2String(entry.score).utf8)
                    score.withUnsafeBytes { listpack.append($0) }
                }
                listpack.finish().withUnsafeBytes { writeString($0) }
            } else {
                bytes.append(RDBType.zset2)
                writeLength(UInt64(entries.count))
                for entry in entries.reversed() {
                    entry.member.withUnsafeReadableBytes { writeString($0) }
                    let bits = entry.score.bitPattern
                    for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
                }
            }
        }
    }

    /// `rdbSaveLen`.
    mutating func writeLength(_ length: UInt64) {
        if length < 1 << 6 {
            bytes.append(UInt8(length))
        } else if length < 1 << 14 {
            bytes.append(UInt8(length >> 8) | 0x40)
            bytes.append(UInt8(length & 0xFF))
        } else if length <= UInt64(UInt32.max) {
            bytes.append(0x80)
            for shift in stride(from: 24, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: length >> UInt64(shift)))
            }
        } else {
            bytes.append(0x81)
            for shift in stride(from: 56, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: length >> UInt64(shift)))
            }
        }
    }

    /// `rdbEncodeInteger`: the 1, 2 or 4-byte integer encodings; false if the value does not fit 32 bits.
    mutating func writeEncodedInteger(_ value: Int64) -> Bool {
        if value >= -(1 << 7) && value <= (1 << 7) - 1 {
            bytes.append(0xC0)
            bytes.append(UInt8(truncatingIfNeeded: value))
        } else if value >= -(1 << 15) && value <= (1 << 15) - 1 {
            bytes.append(0xC1)
            bytes.append(UInt8(truncatingIfNeeded: value))
            bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        } else if value >= -(1 << 31) && value <= (1 << 31) - 1 {
            bytes.append(0xC2)
            for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * Int64(i)))) }
        } else {
            return false
        }
        return true
    }

    /// `rdbSaveLongLongAsStringObject`.
    mutating func writeInteger(asString value: Int64) {
        if writeEncodedInteger(value) { return }
        let text = Array(String(value).utf8)
        writeLength(UInt64(text.count))
        bytes.append(contentsOf: text)
    }

    /// `rdbSaveRawString`: integer encoding for short canonical integers, LZF above 20 bytes when it saves
    /// at least 4 bytes, else the bytes with their length.
    mutating func writeString(_ s: UnsafeRawBufferPointer) {
        if s.count <= 11, let value = canonicalInteger(s), writeEncodedInteger(value) { return }
        if s.count > 20, let compressed = LZF.compress(s, maxOutput: s.count - 4) {
            bytes.append(0xC3)
            writeLength(UInt64(compressed.count))
            writeLength(UInt64(s.count))
            bytes.append(contentsOf: compressed)
            return
        }
        writeLength(UInt64(s.count))
        bytes.append(contentsOf: s)
    }

    /// A quicklist of listpack nodes (`RDB_TYPE_LIST_QUICKLIST_2`), split as Redis splits a list built by RPUSH.
    mutating func writeQuicklist(_ elements: BlockList) {
        var nodes: [[UInt8]] = []
        var node = ListpackWriter()
        var nodeSize = 0
        for element in elements {
            let size = element.readableBytes
            if node.count > 0 && !quicklistNodeAllows(nodeSize: nodeSize, elementSize: size) {
                nodes.append(node.finish())
                node = ListpackWriter()
            }
            element.withUnsafeReadableBytes { node.append($0) }
            nodeSize = node.byteCount
        }
        if node.count > 0 { nodes.append(node.finish()) }
        writeLength(UInt64(nodes.count))
        for blob in nodes {
            writeLength(2)  // QUICKLIST_NODE_CONTAINER_PACKED
            blob.withUnsafeBytes { writeString($0) }
        }
    }

    /// `_quicklistNodeAllowInsert` with `list-max-listpack-size -2`: the node's size plus the element plus an
    /// estimated 8 bytes of overhead must stay within 8 KB.
    private func quicklistNodeAllows(nodeSize: Int, elementSize: Int) -> Bool {
        nodeSize + elementSize + 8 <= EncodingLimits.listMaxListpackBytes
    }
}

/// The value of `s` if it is an integer written exactly as Redis writes it (no sign, zeros or spaces extra).
private func canonicalInteger(_ s: UnsafeRawBufferPointer) -> Int64? {
    guard !s.isEmpty else { return nil }
    var i = 0
    let negative = s[0] == UInt8(ascii: "-")
    if negative { i = 1 }
    guard i < s.count else { return nil }
    if s[i] == UInt8(ascii: "0") { return (s.count == 1) ? 0 : nil }
    var value: Int64 = 0
    while i < s.count {
        let d = Int64(s[i]) - 48
        guard d >= 0 && d <= 9 else { return nil }
        let (m, o1) = value.multipliedReportingOverflow(by: 10)
        let (a, o2) = negative ? m.subtractingReportingOverflow(d) : m.addingReportingOverflow(d)
        if o1 || o2 { return nil }
        value = a
        i += 1
    }
    return value
}

/// Redis 7.0's `d2string`: how a sorted set listpack stores a score.
func formatScoreD2String(_ value: Double) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value < 0 ? "-inf" : "inf" }
    if value == 0 { return value.sign == .minus ? "-0" : "0" }
    if value > -4_503_599_627_370_495 && value < 4_503_599_627_370_496 && value == value.rounded(.towardZero) {
        return String(Int64(value))
    }
    return RedisNumber.formatG17(value)
}

// MARK: - RDB object decoding

private struct RDBReader {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - position }

    mutating func readByte() -> UInt8? {
        guard position < bytes.count else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func readBytes(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, count <= remaining else { return nil }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
    }

    /// `rdbLoadLenByRef`: a length, or (encoded: true) a special string encoding.
    mutating func readLength() -> (value: UInt64, encoded: Bool)? {
        guard let first = readByte() else { return nil }
        switch first >> 6 {
        case 3: return (UInt64(first & 0x3F), true)
        case 0: return (UInt64(first & 0x3F), false)
        case 1:
            guard let second = readByte() else { return nil }
            return (UInt64(first & 0x3F) << 8 | UInt64(second), false)
        default:
            let width: Int
            switch first {
            case 0x80: width = 4
            case 0x81: width = 8
            default: return nil
            }
            guard let raw = readBytes(width) else { return nil }
            var value: UInt64 = 0
            for byte in raw { value = value << 8 | UInt64(byte) }
            return (value, false)
        }
    }

    mutating func readPlainLength() -> Int? {
        guard let (value, encoded) = readLength(), !encoded, value <= UInt64(Int.max) else { return nil }
        return Int(value)
    }

    /// `rdbGenericLoadStringObject`.
    mutating func readString() -> [UInt8]? {
        guard let (length, encoded) = readLength() else { return nil }
        if encoded {
            switch length {
            case 0, 1, 2:
                let width = 1 << Int(length)
                guard let raw = readBytes(width) else { return nil }
                var value: UInt64 = 0
                for i in (0..<width).reversed() { value = value << 8 | UInt64(raw[i]) }
                let shift = UInt64(64 - 8 * width)
                let signed = Int64(bitPattern: value << shift) >> Int64(shift)
                return Array(String(signed).utf8)
            case 3:
                guard let compressedLength = readPlainLength(), let length = readPlainLength(),
                    let compressed = readBytes(compressedLength),
                    length <= compressedLength &* 300 &+ 64
                else { return nil }
                return LZF.decompress(compressed, length: length)
            default:
                return nil
            }
        }
        guard length <= UInt64(remaining), let raw = readBytes(Int(length)) else { return nil }
        return Array(raw)
    }

    mutating func readBuffer() -> ByteBuffer? {
        guard let bytes = readString() else { return nil }
        return ByteBuffer(bytes: bytes)
    }

    /// `rdbLoadDoubleValue`: the textual score of `RDB_TYPE_ZSET`.
    mutating func readASCIIDouble() -> Double? {
        guard let length = readByte() else { return nil }
        switch length {
        case 253: return .nan
        case 254: return .infinity
        case 255: return -.infinity
        default:
            guard let raw = readBytes(Int(length)) else { return nil }
            return Double(String(decoding: raw, as: UTF8.self))
        }
    }

    mutating func readBinaryDouble() -> Double? {
        guard let raw = readBytes(8) else { return nil }
        var bits: UInt64 = 0
        for i in (0..<8).reversed() { bits = bits << 8 | UInt64(raw[i]) }
        return Double(bitPattern: bits)
    }

    /// Reads `count` items, refusing counts the remaining bytes cannot hold (each item takes a byte or more).
    mutating func readCount() -> Int? {
        guard let count = readPlainLength(), count > 0, count <= remaining else { return nil }
        return count
    }

    mutating func readObject() -> RedisObject? {
        guard let type = readByte() else { return nil }
        let object: RedisObject?
        switch type {
        case RDBType.string:
            object = readBuffer().map { .string(.buffer($0)) }
        case RDBType.list:
            guard let count = readCount() else { return nil }
            var elements: [ByteBuffer] = []
            for _ in 0..<count {
                guard let element = readBuffer() else { return nil }
                elements.append(element)
            }
            object = .list(ListObject.dumpMake(elements))
        case RDBType.listZiplist:
            guard let blob = readString(), let elements = Ziplist.decode(blob), !elements.isEmpty else { return nil }
            object = .list(ListObject.dumpMake(elements))
        case RDBType.listQuicklist, RDBType.listQuicklist2:
            guard let nodes = readCount() else { return nil }
            var elements: [ByteBuffer] = []
            for _ in 0..<nodes {
                var container = 2
                if type == RDBType.listQuicklist2 {
                    guard let value = readPlainLength(), value == 1 || value == 2 else { return nil }
                    container = value
                }
                guard let blob = readString() else { return nil }
                if container == 1 {
                    elements.append(ByteBuffer(bytes: blob))
                    continue
                }
                let decoded = type == RDBType.listQuicklist2 ? Listpack.decode(blob) : Ziplist.decode(blob)
                guard let decoded else { return nil }
                elements.append(contentsOf: decoded)
            }
            guard !elements.isEmpty else { return nil }
            object = .list(ListObject.dumpMake(elements))
        case RDBType.set:
            guard let count = readCount() else { return nil }
            var members: [ByteBuffer] = []
            for _ in 0..<count {
                guard let member = readBuffer() else { return nil }
                members.append(member)
            }
            object = SetObject.dumpMake(members).map { .set($0) }
        case RDBType.setIntset:
            guard let blob = readString(), let values = Intset.decode(blob) else { return nil }
            object = SetObject.dumpMake(values.map { ByteBuffer(string: String($0)) }).map { .set($0) }
        case RDBType.zset, RDBType.zset2:
            guard let count = readCount() else { return nil }
            var entries: [(ByteBuffer, Double)] = []
            for _ in 0..<count {
                guard let member = readBuffer(),
                    let score = type == RDBType.zset2 ? readBinaryDouble() : readASCIIDouble()
                else { return nil }
                entries.append((member, score))
            }
            object = ZSetObject.dumpMake(entries).map { .zset($0) }
        case RDBType.zsetZiplist, RDBType.zsetListpack:
            guard let blob = readString(),
                let flat = type == RDBType.zsetListpack ? Listpack.decode(blob) : Ziplist.decode(blob),
                !flat.isEmpty, flat.count % 2 == 0
            else { return nil }
            var entries: [(ByteBuffer, Double)] = []
            for i in stride(from: 0, to: flat.count, by: 2) {
                guard let score = RedisNumber.parseDouble(flat[i + 1]) else { return nil }
                entries.append((flat[i], score))
            }
            object = ZSetObject.dumpMake(entries).map { .zset($0) }
        case RDBType.hash:
            guard let count = readCount() else { return nil }
            var pairs: [(ByteBuffer, ByteBuffer)] = []
            for _ in 0..<count {
                guard let field = readBuffer(), let value = readBuffer() else { return nil }
                pairs.append((field, value))
            }
            object = HashObject.dumpMake(pairs).map { .hash($0) }
        case RDBType.hashZiplist, RDBType.hashListpack:
            guard let blob = readString(),
                let flat = type == RDBType.hashListpack ? Listpack.decode(blob) : Ziplist.decode(blob),
                !flat.isEmpty, flat.count % 2 == 0
            else { return nil }
            var pairs: [(ByteBuffer, ByteBuffer)] = []
            for i in stride(from: 0, to: flat.count, by: 2) { pairs.append((flat[i], flat[i + 1])) }
            object = HashObject.dumpMake(pairs).map { .hash($0) }
        default:
            return nil
        }
        // The payload must hold exactly one object.
        guard position == bytes.count else { return nil }
        return object
    }
}

// MARK: - Listpack, ziplist and intset blobs

/// Builds a listpack as Redis's `lpAppend` does (integers in their smallest encoding).
private struct ListpackWriter {
    private var bytes: [UInt8] = [0, 0, 0, 0, 0, 0]
    private(set) var count = 0

    /// Bytes so far, with the header (what `node->sz` would be without the terminator).
    var byteCount: Int { bytes.count + 1 }

    mutating func append(_ element: UnsafeRawBufferPointer) {
        let start = bytes.count
        if element.count <= 20, let value = canonicalInteger(element) {
            appendInteger(value)
        } else {
            let length = element.count
            if length < 64 {
                bytes.append(0x80 | UInt8(length))
            } else if length < 4096 {
                bytes.append(0xE0 | UInt8(length >> 8))
                bytes.append(UInt8(length & 0xFF))
            } else {
                bytes.append(0xF0)
                for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: length >> (8 * i))) }
            }
            bytes.append(contentsOf: element)
        }
        appendBacklen(bytes.count - start)
        count += 1
    }

    private mutating func appendInteger(_ v: Int64) {
        if v >= 0 && v <= 127 {
            bytes.append(UInt8(v))
        } else if v >= -4096 && v <= 4095 {
            let u = v < 0 ? (1 << 13) + v : v
            bytes.append(UInt8(u >> 8) | 0xC0)
            bytes.append(UInt8(u & 0xFF))
        } else {
            let width: Int
            let tag: UInt8
            if v >= -32768 && v <= 32767 {
                (width, tag) = (2, 0xF1)
            } else if v >= -8_388_608 && v <= 8_388_607 {
                (width, tag) = (3, 0xF2)
            } else if v >= Int64(Int32.min) && v <= Int64(Int32.max) {
                (width, tag) = (4, 0xF3)
            } else {
                (width, tag) = (8, 0xF4)
            }
            bytes.append(tag)
            let u = UInt64(bitPattern: v)
            for i in 0..<width { bytes.append(UInt8(truncatingIfNeeded: u >> (8 * UInt64(i)))) }
        }
    }

    /// `lpEncodeBacklen`.
    private mutating func appendBacklen(_ l: Int) {
        if l <= 127 {
            bytes.append(UInt8(l))
        } else if l < 16383 {
            bytes.append(UInt8(l >> 7))
            bytes.append(UInt8(l & 127) | 128)
        } else if l < 2_097_151 {
            bytes.append(UInt8(l >> 14))
            bytes.append(UInt8((l >> 7) & 127) | 128)
            bytes.append(UInt8(l & 127) | 128)
        } else if l < 268_435_455 {
            bytes.append(UInt8(l >> 21))
            bytes.append(UInt8((l >> 14) & 127) | 128)
            bytes.append(UInt8((l >> 7) & 127) | 128)
            bytes.append(UInt8(l & 127) | 128)
        } else {
            bytes.append(UInt8(truncatingIfNeeded: l >> 28))
            bytes.append(UInt8((l >> 21) & 127) | 128)
            bytes.append(UInt8((l >> 14) & 127) | 128)
            bytes.append(UInt8((l >> 7) & 127) | 128)
            bytes.append(UInt8(l & 127) | 128)
        }
    }

    func finish() -> [UInt8] {
        var result = bytes
        result.append(0xFF)
        let total = UInt32(truncatingIfNeeded: result.count)
        for i in 0..<4 { result[i] = UInt8(truncatingIfNeeded: total >> (8 * UInt32(i))) }
        let elements = UInt16(min(count, 65535))
        result[4] = UInt8(elements & 0xFF)
        result[5] = UInt8(elements >> 8)
        return result
    }
}

private enum Listpack {
    /// Every element of a listpack, integers as their decimal text; nil if the blob is malformed.
    static func decode(_ blob: [UInt8]) -> [ByteBuffer]? {
        guard blob.count >= 7, blob[blob.count - 1] == 0xFF else { return nil }
        let total = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        guard total == blob.count else { return nil }
        let declared = Int(blob[4]) | Int(blob[5]) << 8
        var elements: [ByteBuffer] = []
        var p = 6
        let end = blob.count - 1
        while p < end {
            let b = blob[p]
            var entrySize: Int
            if b & 0x80 == 0 {
                elements.append(ByteBuffer(string: String(b & 0x7F)))
                entrySize = 1
            } else if b & 0xC0 == 0x80 {
                let length = Int(b & 0x3F)
                guard p + 1 + length <= end else { return nil }
                elements.append(ByteBuffer(bytes: blob[(p + 1)..<(p + 1 + length)]))
                entrySize = 1 + length
            } else if b & 0xE0 == 0xC0 {
                guard p + 2 <= end else { return nil }
                var value = Int(b & 0x1F) << 8 | Int(blob[p + 1])
                if value >= 1 << 12 { value -= 1 << 13 }
                elements.append(ByteBuffer(string: String(value)))
                entrySize = 2
            } else if b & 0xF0 == 0xE0 {
                guard p + 2 <= end else { return nil }
                let length = Int(b & 0x0F) << 8 | Int(blob[p + 1])
                guard p + 2 + length <= end else { return nil }
                elements.append(ByteBuffer(bytes: blob[(p + 2)..<(p + 2 + length)]))
                entrySize = 2 + length
            } else if b == 0xF0 {
                guard p + 5 <= end else { return nil }
                let length = Int(blob[p + 1]) | Int(blob[p + 2]) << 8 | Int(blob[p + 3]) << 16 | Int(blob[p + 4]) << 24
                guard p + 5 + length <= end else { return nil }
                elements.append(ByteBuffer(bytes: blob[(p + 5)..<(p + 5 + length)]))
                entrySize = 5 + length
            } else if b >= 0xF1 && b <= 0xF4 {
                let width = [2, 3, 4, 8][Int(b - 0xF1)]
                guard p + 1 + width <= end else { return nil }
                var u: UInt64 = 0
                for i in (0..<width).reversed() { u = u << 8 | UInt64(blob[p + 1 + i]) }
                let shift = UInt64(64 - 8 * width)
                elements.append(ByteBuffer(string: String(Int64(bitPattern: u << shift) >> Int64(shift))))
                entrySize = 1 + width
            } else {
                return nil
            }
            let backlen = entrySize <= 127 ? 1 : entrySize < 16383 ? 2 : entrySize < 2_097_151 ? 3
                : entrySize < 268_435_455 ? 4 : 5
            p += entrySize + backlen
            guard p <= end else { return nil }
        }
        guard declared == 65535 || declared == elements.count else { return nil }
        return elements
    }
}

private enum Ziplist {
    /// Every element of a ziplist (RDB payloads of Redis 6.2 and older).
    static func decode(_ blob: [UInt8]) -> [ByteBuffer]? {
        guard blob.count >= 11, blob[blob.count - 1] == 0xFF else { return nil }
        let total = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        guard total == blob.count else { return nil }
        var elements: [ByteBuffer] = []
        var p = 10
        let end = blob.count - 1
        func le(_ at: Int, _ width: Int) -> Int64 {
            var u: UInt64 = 0
            for i in (0..<width).reversed() { u = u << 8 | UInt64(blob[at + i]) }
            let shift = UInt64(64 - 8 * width)
            return Int64(bitPattern: u << shift) >> Int64(shift)
        }
        while p < end {
            p += blob[p] < 254 ? 1 : 5
            guard p < end else { return nil }
            let e = blob[p]
            switch e >> 6 {
            case 0, 1, 2:
                var length: Int
                var header: Int
                if e >> 6 == 0 {
                    (length, header) = (Int(e & 0x3F), 1)
                } else if e >> 6 == 1 {
                    guard p + 2 <= end else { return nil }
                    (length, header) = (Int(e & 0x3F) << 8 | Int(blob[p + 1]), 2)
                } else {
                    guard p + 5 <= end else { return nil }
                    length = Int(blob[p + 1]) << 24 | Int(blob[p + 2]) << 16 | Int(blob[p + 3]) << 8 | Int(blob[p + 4])
                    header = 5
                }
                guard p + header + length <= end else { return nil }
                elements.append(ByteBuffer(bytes: blob[(p + header)..<(p + header + length)]))
                p += header + length
            default:
                let width: Int
                switch e {
                case 0xC0: width = 2
                case 0xD0: width = 4
                case 0xE0: width = 8
                case 0xF0: width = 3
                case 0xFE: width = 1
                case 0xF1...0xFD: width = 0
                default: return nil
                }
                guard p + 1 + width <= end else { return nil }
                let value = width == 0 ? Int64(e & 0x0F) - 1 : le(p + 1, width)
                elements.append(ByteBuffer(string: String(value)))
                p += 1 + width
            }
        }
        return elements
    }
}

private enum Intset {
    static func encode(_ sorted: [Int64]) -> [UInt8] {
        var width = 2
        if let low = sorted.first, let high = sorted.last {
            if low < Int64(Int32.min) || high > Int64(Int32.max) {
                width = 8
            } else if low < Int64(Int16.min) || high > Int64(Int16.max) {
                width = 4
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + width * sorted.count)
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: width >> (8 * i))) }
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: sorted.count >> (8 * i))) }
        for value in sorted {
            let u = UInt64(bitPattern: value)
            for i in 0..<width { bytes.append(UInt8(truncatingIfNeeded: u >> (8 * UInt64(i)))) }
        }
        return bytes
    }

    static func decode(_ blob: [UInt8]) -> [Int64]? {
        guard blob.count >= 8 else { return nil }
        let width = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        let count = Int(blob[4]) | Int(blob[5]) << 8 | Int(blob[6]) << 16 | Int(blob[7]) << 24
        guard width == 2 || width == 4 || width == 8, count > 0, blob.count == 8 + count * width else { return nil }
        var values: [Int64] = []
        values.reserveCapacity(count)
        for k in 0..<count {
            let at = 8 + k * width
            var u: UInt64 = 0
            for i in (0..<width).reversed() { u = u << 8 | UInt64(blob[at + i]) }
            let shift = UInt64(64 - 8 * width)
            let value = Int64(bitPattern: u << shift) >> Int64(shift)
            if let last = values.last, value <= last { return nil }
            values.append(value)
        }
        return values
    }
}

// MARK: - CRC64 and LZF

/// Redis's CRC64: Jones polynomial 0xad93d23594c935a9, reflected, initial value 0.
enum CRC64 {
    private static let table: [UInt64] = (0..<256).map { index -> UInt64 in
        var crc = UInt64(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x95AC_9329_AC4B_C9B5 : crc >> 1 }
        return crc
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer, initial: UInt64 = 0) -> UInt64 {
        var crc = initial
        table.withUnsafeBufferPointer { table in
            for byte in bytes { crc = table[Int((crc ^ UInt64(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc
    }

    static func checksum(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}

/// liblzf 3.6 as built into Redis (HLOG 16, VERY_FAST), so compressed payloads match Redis's byte for byte.
enum LZF {
    private static let hashLog = 16
    private static let maxLiteral = 1 << 5
    private static let maxOffset = 1 << 13
    private static let maxReference = (1 << 8) + (1 << 3)

    @inline(__always)
    private static func slot(_ h: UInt32) -> Int {
        Int(((h >> UInt32(24 - hashLog)) &- (h &* 5)) & UInt32((1 << hashLog) - 1))
    }

    /// `lzf_compress` into at most `maxOutput` bytes; nil if the result would not fit.
    static func compress(_ input: UnsafeRawBufferPointer, maxOutput outLength: Int) -> [UInt8]? {
        let inLength = input.count
        guard inLength >= 3, outLength > 0 else { return nil }
        var table = [UInt32](repeating: 0, count: 1 << hashLog)
        var out = [UInt8](repeating: 0, count: outLength + 8)
        var ip = 0
        var op = 1  // start run
        var lit = 0
        var hval = UInt32(input[0]) << 8 | UInt32(input[1])
        while ip < inLength - 2 {
            hval = (hval << 8) | UInt32(input[ip + 2])
            let index = slot(hval)
            let ref = Int(table[index])
            table[index] = UInt32(ip)
            if ref > 0, ref < ip, ip - ref - 1 < maxOffset, input[ref + 2] == input[ip + 2],
                input[ref] == input[ip], input[ref + 1] == input[ip + 1]
            {
                let off = ip - ref - 1
                var len = 2
                var maxlen = inLength - ip - len
                if maxlen > maxReference { maxlen = maxReference }
                if op + 3 + 1 >= outLength && op - (lit == 0 ? 1 : 0) + 3 + 1 >= outLength { return nil }
                out[op - lit - 1] = UInt8(truncatingIfNeeded: lit - 1)  // stop run
                if lit == 0 { op -= 1 }  // undo run if length is zero
                var mismatched = false
                if maxlen > 16 {
                    for _ in 0..<16 {
                        len += 1
                        if input[ref + len] != input[ip + len] {
                            mismatched = true
                            break
                        }
                    }
                }
                if !mismatched {
                    repeat { len += 1 } while len < maxlen && input[ref + len] == input[ip + len]
                }
                len -= 2  // len is now #octets - 1
                ip += 1
                if len < 7 {
                    out[op] = UInt8(truncatingIfNeeded: (off >> 8) + (len << 5))
                    op += 1
                } else {
                    out[op] = UInt8(truncatingIfNeeded: (off >> 8) + (7 << 5))
                    out[op + 1] = UInt8(truncatingIfNeeded: len - 7)
                    op += 2
                }
                out[op] = UInt8(truncatingIfNeeded: off)
                op += 1
                lit = 0
                op += 1  // start run
                ip += len + 1
                if ip >= inLength - 2 { break }
                ip -= 2
                hval = UInt32(input[ip]) << 8 | UInt32(input[ip + 1])
                hval = (hval << 8) | UInt32(input[ip + 2])
                table[slot(hval)] = UInt32(ip)
                ip += 1
                hval = (hval << 8) | UInt32(input[ip + 2])
                table[slot(hval)] = UInt32(ip)
                ip += 1
            } else {
                if op >= outLength { return nil }
                lit += 1
                out[op] = input[ip]
                op += 1
                ip += 1
                if lit == maxLiteral {
                    out[op - lit - 1] = UInt8(lit - 1)
                    lit = 0
                    op += 1
                }
            }
        }
        if op + 3 > outLength { return nil }
        while ip < inLength {
            lit += 1
            out[op] = input[ip]
            op += 1
            ip += 1
            if lit == maxLiteral {
                out[op - lit - 1] = UInt8(lit - 1)
                lit = 0
                op += 1
            }
        }
        out[op - lit - 1] = UInt8(truncatingIfNeeded: lit - 1)
        if lit == 0 { op -= 1 }
        return Array(out[0..<op])
    }

    /// `lzf_decompress` of exactly `length` bytes; nil on malformed input or any other length.
    static func decompress(_ input: UnsafeRawBufferPointer, length: Int) -> [UInt8]? {
        var out = [UInt8]()
        out.reserveCapacity(length)
        var ip = 0
        let inLength = input.count
        while ip < inLength {
            let ctrl = Int(input[ip])
            ip += 1
            if ctrl < 1 << 5 {
                let run = ctrl + 1
                guard out.count + run <= length, ip + run <= inLength else { return nil }
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[ip..<(ip + run)]))
                ip += run
            } else {
                var len = ctrl >> 5
                var ref = out.count - ((ctrl & 0x1F) << 8) - 1
                guard ip < inLength else { return nil }
                if len == 7 {
                    len += Int(input[ip])
                    ip += 1
                    guard ip < inLength else { return nil }
                }
                ref -= Int(input[ip])
                ip += 1
                guard out.count + len + 2 <= length, ref >= 0 else { return nil }
                for _ in 0..<(len + 2) {
                    out.append(out[ref])
                    ref += 1
                }
            }
        }
        return out.count == length ? out : nil
    }
}

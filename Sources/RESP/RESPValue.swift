import NIOCore

/// An owned RESP2/RESP3 value, for building replies and for tests. The hot path uses `RESPToken` instead.
public indirect enum RESPValue: Sendable, CustomStringConvertible {
    case simpleString(String)
    case simpleError(String)
    case integer(Int64)
    case bulkString(ByteBuffer)
    /// RESP2 `$-1`.
    case nullBulkString
    case array([RESPValue])
    /// RESP2 `*-1`.
    case nullArray
    /// RESP3 `_`.
    case null
    case boolean(Bool)
    case double(Double)
    case bigNumber(String)
    case bulkError(ByteBuffer)
    /// RESP3 verbatim string; `format` is three bytes such as `txt` or `mkd`.
    case verbatimString(format: String, text: ByteBuffer)
    case map([(key: RESPValue, value: RESPValue)])
    case set([RESPValue])
    case attribute([(key: RESPValue, value: RESPValue)], RESPValue)
    case push([RESPValue])

    /// A bulk string holding the UTF-8 bytes of `string`.
    public static func bulk(_ string: String) -> RESPValue { .bulkString(ByteBuffer(string: string)) }

    /// A bulk string holding `bytes`.
    public static func bulk(bytes: some Sequence<UInt8>) -> RESPValue { .bulkString(ByteBuffer(bytes: bytes)) }

    /// Converts a validated frame into an owned value (copying nothing but the aggregate structure).
    public init(_ token: RESPToken) {
        switch token.value {
        case .simpleString(let b): self = .simpleString(String(buffer: b))
        case .simpleError(let b): self = .simpleError(String(buffer: b))
        case .bulkString(let b): self = .bulkString(b)
        case .bulkError(let b): self = .bulkError(b)
        case .verbatimString(let f, let t): self = .verbatimString(format: String(buffer: f), text: t)
        case .integer(let i): self = .integer(i)
        case .double(let d): self = .double(d)
        case .boolean(let b): self = .boolean(b)
        case .bigNumber(let b): self = .bigNumber(String(buffer: b))
        case .null: self = .null
        case .nullBulkString: self = .nullBulkString
        case .nullArray: self = .nullArray
        case .array(let a): self = .array(a.map(RESPValue.init))
        case .set(let a): self = .set(a.map(RESPValue.init))
        case .push(let a): self = .push(a.map(RESPValue.init))
        case .map(let m): self = .map(m.map { (RESPValue($0.key), RESPValue($0.value)) })
        case .attribute(let m, let v): self = .attribute(m.map { (RESPValue($0.key), RESPValue($0.value)) }, RESPValue(v))
        }
    }

    /// The text of a simple, bulk or verbatim string (lossy UTF-8), or nil for other types.
    public var string: String? {
        switch self {
        case .simpleString(let s), .bigNumber(let s): return s
        case .bulkString(let b), .verbatimString(_, let b): return String(buffer: b)
        default: return nil
        }
    }

    /// The message of a simple or bulk error, or nil.
    public var errorMessage: String? {
        switch self {
        case .simpleError(let s): return s
        case .bulkError(let b): return String(buffer: b)
        default: return nil
        }
    }

    /// The elements of an array, set or push, or nil.
    public var elements: [RESPValue]? {
        switch self {
        case .array(let a), .set(let a), .push(let a): return a
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .simpleString(let s): return "+\(s)"
        case .simpleError(let s): return "-\(s)"
        case .integer(let i): return "(integer) \(i)"
        case .bulkString(let b): return "\"\(String(buffer: b))\""
        case .nullBulkString, .nullArray, .null: return "(nil)"
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .boolean(let b): return "(boolean) \(b)"
        case .double(let d): return "(double) \(d)"
        case .bigNumber(let s): return "(big number) \(s)"
        case .bulkError(let b): return "-\(String(buffer: b))"
        case .verbatimString(let f, let t): return "\(f):\(String(buffer: t))"
        case .map(let m): return "{" + m.map { "\($0.key.description): \($0.value.description)" }.joined(separator: ", ") + "}"
        case .set(let a): return "~[" + a.map(\.description).joined(separator: ", ") + "]"
        case .attribute(let m, let v): return "|{" + m.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "} \(v)"
        case .push(let a): return ">[" + a.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

extension RESPValue: Hashable {
    public static func == (lhs: RESPValue, rhs: RESPValue) -> Bool {
        switch (lhs, rhs) {
        case (.simpleString(let a), .simpleString(let b)), (.simpleError(let a), .simpleError(let b)),
            (.bigNumber(let a), .bigNumber(let b)):
            return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.bulkString(let a), .bulkString(let b)), (.bulkError(let a), .bulkError(let b)): return a == b
        case (.nullBulkString, .nullBulkString), (.nullArray, .nullArray), (.null, .null): return true
        case (.array(let a), .array(let b)), (.set(let a), .set(let b)), (.push(let a), .push(let b)): return a == b
        case (.boolean(let a), .boolean(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b || (a.isNaN && b.isNaN)
        case (.verbatimString(let f1, let t1), .verbatimString(let f2, let t2)): return f1 == f2 && t1 == t2
        case (.map(let a), .map(let b)): return pairsEqual(a, b)
        case (.attribute(let a, let v1), .attribute(let b, let v2)): return pairsEqual(a, b) && v1 == v2
        default: return false
        }
    }

    private static func pairsEqual(
        _ a: [(key: RESPValue, value: RESPValue)], _ b: [(key: RESPValue, value: RESPValue)]
    ) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .simpleString(let s):
            hasher.combine(0)
            hasher.combine(s)
        case .simpleError(let s):
            hasher.combine(1)
            hasher.combine(s)
        case .bigNumber(let s):
            hasher.combine(2)
            hasher.combine(s)
        case .integer(let i):
            hasher.combine(3)
            hasher.combine(i)
        case .bulkString(let b):
            hasher.combine(4)
            hasher.combine(b)
        case .bulkError(let b):
            hasher.combine(5)
            hasher.combine(b)
        case .array(let a):
            hasher.combine(6)
            hasher.combine(a)
        case .set(let a):
            hasher.combine(7)
            hasher.combine(a)
        case .push(let a):
            hasher.combine(8)
            hasher.combine(a)
        case .boolean(let b):
            hasher.combine(9)
            hasher.combine(b)
        case .double(let d):
            hasher.combine(10)
            hasher.combine(d.isNaN ? 0 : d)
        case .verbatimString(let f, let t):
            hasher.combine(11)
            hasher.combine(f)
            hasher.combine(t)
        case .map(let m):
            hasher.combine(12)
            hasher.combine(m.count)
        case .attribute(let m, let v):
            hasher.combine(13)
            hasher.combine(m.count)
            hasher.combine(v)
        case .nullBulkString: hasher.combine(14)
        case .nullArray: hasher.combine(15)
        case .null: hasher.combine(16)
        }
    }
}

extension RESPValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    /// A string literal is a bulk string, as in a command's arguments.
    public init(stringLiteral value: String) { self = .bulk(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
}

import NIOCore

/// A node's client address, `host:port`, as Redis prints it in MOVED/ASK and CLUSTER replies.
///
/// IPv6 hosts are kept unbracketed (`::1`), as Redis writes them; the port is whatever follows the last colon.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible, Comparable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[host]:port` or `:port` (an empty host: "the address you reached me on").
    public init?(parsing text: Substring) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = text[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        self.init(host: String(host), port: port)
    }

    public init?(parsing text: String) {
        self.init(parsing: Substring(text))
    }

    /// `host:port`, IPv6 hosts unbracketed as Redis prints them.
    public var description: String { "\(host):\(port)" }

    /// A host that names no address: empty or `?` (Redis's unknown endpoint).
    public var hasUnknownHost: Bool { host.isEmpty || host == "?" }

    /// This endpoint with an unknown host replaced by `host` (what redis-cli does with `MOVED 1 :7001`).
    public func resolvingUnknownHost(with host: String) -> Endpoint {
        hasUnknownHost ? Endpoint(host: host, port: port) : self
    }

    public static func < (lhs: Endpoint, rhs: Endpoint) -> Bool {
        (lhs.host, lhs.port) < (rhs.host, rhs.port)
    }
}

/// A cluster redirection carried by an error reply: `MOVED slot host:port` or `ASK slot host:port`.
public struct Redirect: Hashable, Sendable {
    public enum Kind: Sendable, Hashable {
        case moved
        case ask
    }

    public var kind: Kind
    public var slot: Int
    public var endpoint: Endpoint

    public init(kind: Kind, slot: Int, endpoint: Endpoint) {
        self.kind = kind
        self.slot = slot
        self.endpoint = endpoint
    }

    /// Parses an error message (without the `-` and CRLF), e.g. `MOVED 3999 127.0.0.1:6381`.
    public init?(errorMessage: ByteBuffer) {
        guard let text = errorMessage.getString(at: errorMessage.readerIndex, length: errorMessage.readableBytes)
        else { return nil }
        self.init(errorMessage: text)
    }

    public init?(errorMessage text: String) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 3, let slot = Int(parts[1]), (0..<HashSlot.count).contains(slot),
            let endpoint = Endpoint(parsing: parts[2])
        else { return nil }
        switch parts[0] {
        case "MOVED": kind = .moved
        case "ASK": kind = .ask
        default: return nil
        }
        self.slot = slot
        self.endpoint = endpoint
    }
}

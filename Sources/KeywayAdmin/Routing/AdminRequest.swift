/// An admin request, the same whether it came over HTTP/1.1 or HTTP/2.
public struct AdminRequest: Sendable {
    /// `GET`, `POST`, `PUT`... as sent.
    public var method: String
    /// The path without the query string, e.g. `/v1/config/read-policy`.
    public var path: String
    /// The query string after `?`, empty when none.
    public var query: String
    /// Header fields with lower-cased names (a repeated field's values are joined with `, `).
    public var headers: [String: String]
    public var body: [UInt8]

    public init(method: String, target: String, headers: [(String, String)], body: [UInt8] = []) {
        self.method = method
        if let question = target.firstIndex(of: "?") {
            self.path = String(target[..<question])
            self.query = String(target[target.index(after: question)...])
        } else {
            self.path = target
            self.query = ""
        }
        var fields: [String: String] = [:]
        for (name, value) in headers {
            let key = name.lowercased()
            if let existing = fields[key] {
                fields[key] = existing + ", " + value
            } else {
                fields[key] = value
            }
        }
        self.headers = fields
        self.body = body
    }
}

/// An admin response: status, header fields and body.
public struct AdminResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The value of the first header field named `name` (any case).
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

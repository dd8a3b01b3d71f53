import Foundation

/// Maps admin requests to an `AdminSource` and the metrics registry; shared by the HTTP/1.1 and HTTP/2 paths.
///
/// A pure async function of the request (no I/O of its own), so it is tested without sockets.
public struct AdminRouter: Sendable {
    /// One route: a path pattern (`{name}` matches one segment) and the methods it accepts.
    struct Route: Sendable {
        var segments: [String]
        var methods: [String]
    }

    static let routes: [Route] = [
        Route(segments: ["metrics"], methods: ["GET"]),
        Route(segments: ["healthz"], methods: ["GET"]),
        Route(segments: ["readyz"], methods: ["GET"]),
        Route(segments: ["v1", "topology"], methods: ["GET"]),
        Route(segments: ["v1", "topology", "refresh"], methods: ["POST"]),
        Route(segments: ["v1", "backends"], methods: ["GET"]),
        Route(segments: ["v1", "clients"], methods: ["GET"]),
        Route(segments: ["v1", "slowlog"], methods: ["GET"]),
        Route(segments: ["v1", "config"], methods: ["GET"]),
        Route(segments: ["v1", "config", "{name}"], methods: ["PUT"]),
    ]

    /// The largest request body accepted (a config value); larger bodies get 413.
    public static let maxBodyBytes = 64 * 1024

    public let source: any AdminSource
    public let metrics: KeywayMetrics
    /// When set, mutating requests (POST, PUT) need `Authorization: Bearer <token>`.
    public let token: String?

    public init(source: any AdminSource, metrics: KeywayMetrics, token: String?) {
        self.source = source
        self.metrics = metrics
        self.token = token
    }

    /// The response to `request`; never throws: every failure is a JSON error response.
    public func respond(to request: AdminRequest) async -> AdminResponse {
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let route = Self.routes.first(where: { Self.matches($0.segments, segments) }) else {
            return Self.error(AdminError.notFound("no such endpoint: \(request.path)"))
        }
        var methods = route.methods
        if methods.contains("GET") { methods.append("HEAD") }
        guard methods.contains(request.method) else {
            var response = Self.error(
                AdminError(status: 405, message: "\(request.method) not allowed on \(request.path)")
            )
            response.headers.append(("allow", methods.joined(separator: ", ")))
            return response
        }
        let mutating = request.method == "POST" || request.method == "PUT"
        if mutating, let token, !Self.authorized(request, token: token) {
            var response = Self.error(AdminError(status: 401, message: "a valid bearer token is required"))
            response.headers.append(("www-authenticate", "Bearer realm=\"keyway-admin\""))
            return response
        }
        do {
            var response = try await handle(route: route.segments, segments: segments, request: request)
            if request.method == "HEAD" {
                response.headers.append(("content-length", String(response.body.count)))
                response.body = []
            }
            return response
        } catch let error as AdminError {
            return Self.error(error)
        } catch {
            return Self.error(AdminError(status: 500, message: "\(error)"))
        }
    }

    private func handle(route: [String], segments: [String], request: AdminRequest) async throws -> AdminResponse {
        switch route {
        case ["metrics"]:
            await source.updateMetrics()
            var writer = PrometheusTextWriter()
            await source.collectMetrics(into: &writer)
            let format = MetricsExposition.Format(accept: request.headers["accept"])
            return AdminResponse(
                status: 200,
                headers: [("content-type", format.contentType)],
                body: metrics.expose(format: format, appending: writer.bytes)
            )
        case ["healthz"]:
            return try Self.json(200, ["status": "ok"])
        case ["readyz"]:
            let readiness = await source.readiness()
            return try Self.json(readiness.ready ? 200 : 503, readiness)
        case ["v1", "topology"]:
            return try Self.json(200, try await source.topology())
        case ["v1", "topology", "refresh"]:
            return try Self.json(200, try await source.refreshTopology())
        case ["v1", "backends"]:
            return try Self.json(200, try await source.backends())
        case ["v1", "clients"]:
            return try Self.json(200, try await source.clients())
        case ["v1", "slowlog"]:
            return try Self.json(200, try await source.slowlog())
        case ["v1", "config"]:
            return try Self.json(200, try await source.config())
        case ["v1", "config", "{name}"]:
            let name = segments[2].removingPercentEncoding ?? segments[2]
            let value = try Self.configValue(request)
            try await source.setConfig(name: name, value: value)
            let current = try await source.config()[name] ?? value
            return try Self.json(200, ["name": name, "value": current])
        default:
            throw AdminError.notFound("no such endpoint: \(request.path)")
        }
    }

    /// A PUT body is either JSON `{"value": "..."}` or the value as plain text.
    static func configValue(_ request: AdminRequest) throws -> String {
        if request.headers["content-type"]?.lowercased().hasPrefix("application/json") == true {
            struct Body: Decodable { var value: String }
            guard let body = try? JSONDecoder().decode(Body.self, from: Data(request.body)) else {
                throw AdminError.badRequest("expected a JSON body {\"value\": \"...\"}")
            }
            return body.value
        }
        guard let text = String(validating: request.body, as: UTF8.self) else {
            throw AdminError.badRequest("the value is not UTF-8")
        }
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else { throw AdminError.badRequest("empty value") }
        return value
    }

    static func authorized(_ request: AdminRequest, token: String) -> Bool {
        guard let header = request.headers["authorization"] else { return false }
        let prefix = "bearer "
        guard header.count > prefix.count, header.lowercased().hasPrefix(prefix) else { return false }
        let presented = Array(header.utf8.dropFirst(prefix.count))
        let expected = Array(token.utf8)
        // Compare in constant time for equal lengths, so the token does not leak through timing.
        guard presented.count == expected.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(presented, expected) { difference |= a ^ b }
        return difference == 0
    }

    static func matches(_ pattern: [String], _ segments: [String]) -> Bool {
        guard pattern.count == segments.count else { return false }
        for (p, s) in zip(pattern, segments) where p != s && !(p.hasPrefix("{") && !s.isEmpty) {
            return false
        }
        return true
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    static func json(_ status: Int, _ value: some Encodable) throws -> AdminResponse {
        var body = Array(try encoder.encode(value))
        body.append(UInt8(ascii: "\n"))
        return AdminResponse(status: status, headers: [("content-type", "application/json")], body: body)
    }

    /// A JSON error body `{"error": message, "status": N}` with that status.
    static func error(_ error: AdminError) -> AdminResponse {
        struct Body: Encodable {
            var error: String
            var status: Int
        }
        let body = (try? encoder.encode(Body(error: error.message, status: error.status))).map(Array.init) ?? []
        return AdminResponse(
            status: error.status,
            headers: [("content-type", "application/json")],
            body: body + [UInt8(ascii: "\n")]
        )
    }
}

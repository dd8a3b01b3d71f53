import Foundation
import NIOCore
import Testing

@testable import KeywayAdmin

@Suite("AdminRouter")
struct AdminRouterTests {
    let metrics = KeywayMetrics()

    func respond(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: String = "",
        source: any AdminSource = FakeProxySource(), token: String? = nil
    ) async -> AdminResponse {
        let router = AdminRouter(source: source, metrics: metrics, token: token)
        return await router.respond(
            to: AdminRequest(method: method, target: target, headers: headers, body: Array(body.utf8)))
    }

    func json(_ response: AdminResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    @Test func unknownPathIs404WithJSONError() async throws {
        let response = await respond("GET", "/nope")
        #expect(response.status == 404)
        #expect(response.header("content-type") == "application/json")
        let body = try json(response)
        #expect(body["status"] as? Int == 404)
        #expect((body["error"] as? String)?.contains("/nope") == true)
    }

    @Test func wrongMethodIs405WithAllow() async throws {
        let response = await respond("DELETE", "/v1/config")
        #expect(response.status == 405)
        #expect(response.header("allow") == "GET, HEAD")
        #expect(try json(response)["status"] as? Int == 405)
        let refresh = await respond("GET", "/v1/topology/refresh")
        #expect(refresh.status == 405)
        #expect(refresh.header("allow") == "POST")
    }

    @Test func mutatingNeedsBearerTokenWhenSet() async throws {
        let source = FakeProxySource()
        let missing = await respond("POST", "/v1/topology/refresh", source: source, token: "s3cret")
        #expect(missing.status == 401)
        #expect(missing.header("www-authenticate")?.hasPrefix("Bearer") == true)
        let wrong = await respond(
            "PUT", "/v1/config/read-policy", headers: [("Authorization", "Bearer nope00")], body: "replica",
            source: source, token: "s3cret")
        #expect(wrong.status == 401)
        #expect(await source.settings["read-policy"] == "primary")
        let right = await respond(
            "POST", "/v1/topology/refresh", headers: [("Authorization", "Bearer s3cret")], source: source,
            token: "s3cret")
        #expect(right.status == 200)
        #expect(await source.refreshes == 1)
        // Reads need no token.
        #expect(await respond("GET", "/v1/config", source: source, token: "s3cret").status == 200)
    }

    @Test func putConfigAcceptsTextAndJSONAndRejectsBadValues() async throws {
        let source = FakeProxySource()
        let text = await respond("PUT", "/v1/config/read-policy", body: "replica\n", source: source)
        #expect(text.status == 200)
        #expect(try json(text)["value"] as? String == "replica")
        let viaJSON = await respond(
            "PUT", "/v1/config/read-policy", headers: [("Content-Type", "application/json")],
            body: #"{"value": "prefer-replica"}"#, source: source)
        #expect(viaJSON.status == 200)
        #expect(await source.settings["read-policy"] == "prefer-replica")
        let bad = await respond("PUT", "/v1/config/read-policy", body: "sideways", source: source)
        #expect(bad.status == 400)
        let unknown = await respond("PUT", "/v1/config/no-such", body: "1", source: source)
        #expect(unknown.status == 404)
    }

    @Test func readinessIs503WhenNotReady() async throws {
        let source = FakeProxySource()
        await source.setReady(false)
        let response = await respond("GET", "/readyz", source: source)
        #expect(response.status == 503)
        #expect(try json(response)["reason"] as? String == "slot 0 not covered")
    }

    @Test func roleWithoutBackendsAnswers404() async throws {
        for path in ["/v1/backends", "/v1/topology", "/v1/clients", "/v1/slowlog"] {
            let response = await respond("GET", path, source: MinimalSource())
            #expect(response.status == 404, "\(path)")
        }
        #expect(await respond("GET", "/readyz", source: MinimalSource()).status == 200)
        #expect(await respond("GET", "/v1/config", source: MinimalSource()).status == 200)
    }

    @Test func metricsServesPrometheusOrOpenMetrics() async throws {
        metrics.commandCounter(command: "GET", result: "ok").increment()
        let text = await respond("GET", "/metrics")
        #expect(text.status == 200)
        #expect(text.header("content-type") == "text/plain; version=0.0.4; charset=utf-8")
        let body = String(decoding: text.body, as: UTF8.self)
        #expect(body.contains(#"keyway_commands_total{command="get",result="ok"} 1"#))
        #expect(body.contains("process_resident_memory_bytes "))
        let open = await respond("GET", "/metrics", headers: [("Accept", "application/openmetrics-text; version=1.0.0")])
        #expect(open.header("content-type")?.hasPrefix("application/openmetrics-text") == true)
        let openBody = String(decoding: open.body, as: UTF8.self)
        #expect(openBody.hasSuffix("# EOF\n"))
        #expect(openBody.contains("# TYPE keyway_commands counter\n"))
        #expect(openBody.contains(#"keyway_commands_total{command="get",result="ok"} 1"#))
    }

    @Test func headHasNoBodyButLength() async throws {
        let response = await respond("HEAD", "/healthz")
        #expect(response.status == 200)
        #expect(response.body.isEmpty)
        #expect(response.header("content-length") == "16")
    }
}

@Suite("Metrics glue")
struct MetricsGlueTests {
    @Test func commandLabelIsBoundedByTheCommandTable() {
        #expect(KeywayMetrics.commandLabel("GET") == "get")
        #expect(KeywayMetrics.commandLabel("cluster|setslot") == "cluster|setslot")
        #expect(KeywayMetrics.commandLabel("user:1234") == "other")
        #expect(KeywayMetrics.commandLabel("") == "other")
        #expect(KeywayMetrics.resultLabel("MOVED") == "moved")
        #expect(KeywayMetrics.resultLabel("SOMETHINGELSE") == "other")
    }

    @Test func latencyBucketsSpan50MicrosecondsTo10Seconds() {
        #expect(KeywayMetrics.latencyBuckets.first == .microseconds(50))
        #expect(KeywayMetrics.latencyBuckets.last == .seconds(10))
        #expect(KeywayMetrics.latencyBuckets == KeywayMetrics.latencyBuckets.sorted())
        let metrics = KeywayMetrics()
        metrics.commandLatency(command: "SET").record(.microseconds(70))
        let text = String(decoding: metrics.expose(), as: UTF8.self)
        #expect(text.contains(#"keyway_command_duration_seconds_bucket{command="set",le="0.00005"} 0"#))
        #expect(text.contains(#"keyway_command_duration_seconds_bucket{command="set",le="0.0001"} 1"#))
        #expect(text.contains(#"keyway_command_duration_seconds_count{command="set"} 1"#))
    }

    @Test func swiftMetricsTimersLandInTheRegistry() {
        let metrics = KeywayMetrics()
        let timer = metrics.makeMetricsFactory().makeTimer(label: "keyway_refresh_duration_seconds", dimensions: [])
        timer.recordNanoseconds(3_000_000)
        let text = String(decoding: metrics.expose(), as: UTF8.self)
        #expect(text.contains(#"keyway_refresh_duration_seconds_bucket{le="0.0025"} 0"#))
        #expect(text.contains(#"keyway_refresh_duration_seconds_bucket{le="0.005"} 1"#))
    }

    @Test func processSampleParsesProc() throws {
        let stat = "4242 (keyway (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 1000 104857600 2560 18446744073709551615"
        let status = "Name:\tkeyway\nVmPeak:\t  200000 kB\nVmRSS:\t   10240 kB\nThreads:\t4\n"
        let sample = try #require(
            ProcessSample.parse(
                stat: stat, status: status, systemStat: "cpu  1 2 3\nbtime 1700000000\n", ticksPerSecond: 100,
                openFDs: 12, maxFDs: 1024))
        #expect(sample.cpuSeconds == 3.0)
        #expect(sample.startTimeSeconds == 1_700_000_010)
        #expect(sample.residentBytes == 10240 * 1024)
        #expect(sample.virtualBytes == 104_857_600)
        #expect(ProcessSample.parse(stat: "garbage", status: status, systemStat: "", ticksPerSecond: 100, openFDs: 0, maxFDs: 0) == nil)
    }

    @Test func liveProcessMetricsAreRead() throws {
        let sample = try #require(ProcessSample.read())
        #expect(sample.residentBytes > 1_000_000)
        #expect(sample.openFDs > 2)
        #expect(sample.startTimeSeconds > 1_600_000_000)
        #expect(sample.startTimeSeconds <= Date().timeIntervalSince1970)
    }

    @Test func acceptHeaderChoosesFormat() {
        #expect(MetricsExposition.Format(accept: nil) == .prometheus)
        #expect(MetricsExposition.Format(accept: "text/plain") == .prometheus)
        #expect(
            MetricsExposition.Format(accept: "application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
                == .openMetrics)
        #expect(MetricsExposition.Format(accept: "application/openmetrics-text;q=0") == .prometheus)
    }

    @Test func sniffingTellsThePrefaceFromHTTP1() {
        let preface = ByteBuffer(string: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        #expect(ProtocolSniffer.decide(preface.readableBytesView) == .http2)
        #expect(ProtocolSniffer.decide(ByteBuffer(string: "PRI * HT").readableBytesView) == .needMoreBytes)
        #expect(ProtocolSniffer.decide(ByteBuffer(string: "GET / HTTP/1.1\r\n").readableBytesView) == .http1)
        #expect(ProtocolSniffer.decide(ByteBuffer(string: "PUT").readableBytesView) == .http1)
    }
}

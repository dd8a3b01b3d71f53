import Foundation
import Histogram
import Testing

@testable import KeywayBench

/// A report with two tests, built from known latencies.
func sampleReport() -> BenchReport {
    func result(_ latenciesMicros: [UInt64], errors: [String: Int] = [:]) -> LoopResult {
        var histogram = makeLatencyHistogram()
        for value in latenciesMicros { _ = histogram.record(value * 1000) }
        var result = LoopResult(histogram: histogram)
        result.requests = latenciesMicros.count
        result.errors = errors
        result.errorSamples = errors.keys.reduce(into: [:]) { $0[$1] = "\($1) something, went wrong" }
        result.firstStart = 1_000_000_000
        result.lastReply = 2_000_000_000
        return result
    }
    let timeline = (1...3).map { TimelinePoint(second: Double($0), rps: 1000 * Double($0), p50: 0.1, p99: 0.2, errors: 0) }
    let settings = BenchReport.Settings(
        target: "127.0.0.1:6379", clients: 50, threads: 1, pipeline: 16, keyspace: 100, keyPattern: "uniform",
        dataSize: "3", rate: nil)
    return BenchReport(
        settings: settings,
        tests: [
            TestReport(name: "SET", result: result(Array(1...1000)), timeline: timeline),
            TestReport(name: "GET <b>,\"x\"", result: result([500, 500, 2000], errors: ["ERR": 2, "WRONGTYPE": 1]), timeline: []),
        ],
        verify: nil)
}

@Suite("Bench: report formats")
struct ReportTests {
    @Test("latency percentiles come from the histogram, in milliseconds")
    func percentiles() {
        let report = sampleReport()
        let set = report.tests[0]
        #expect(set.requests == 1000)
        #expect(abs(set.latencyMs.p50 - 0.5) < 0.002)
        #expect(abs(set.latencyMs.p99 - 0.99) < 0.002)
        #expect(abs(set.latencyMs.max - 1.0) < 0.002)
        #expect(abs(set.rps - 1000) < 0.001)
        #expect(report.tests[1].errors == 3)
        #expect(report.hasFailures)
    }

    @Test("JSON: one object with a tests array of name, requests, errors, rps, latency_ms")
    func json() throws {
        let text = ReportFormatter.json(sampleReport())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let tests = try #require(object["tests"] as? [[String: Any]])
        #expect(tests.count == 2)
        #expect(tests[0]["name"] as? String == "SET")
        #expect(tests[0]["requests"] as? Int == 1000)
        #expect(tests[1]["errors"] as? Int == 3)
        #expect((tests[1]["errors_by_type"] as? [String: Int])?["WRONGTYPE"] == 1)
        #expect(tests[0]["rps"] as? Double == 1000)
        let latency = try #require(tests[0]["latency_ms"] as? [String: Double])
        for key in ["p50", "p90", "p99", "p999", "max"] { #expect(latency[key] != nil, "latency_ms.\(key)") }
        #expect(abs((latency["p50"] ?? 0) - 0.5) < 0.002)
    }

    @Test("CSV: a header and one row per test with the same columns, quoted where needed")
    func csv() {
        let lines = ReportFormatter.csv(sampleReport()).split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0] == "test,requests,errors,rps,p50_ms,p90_ms,p99_ms,p999_ms,max_ms,errors_by_type")
        #expect(lines[1].hasPrefix("SET,1000,0,1000.0,0.500,"))
        #expect(lines[2].hasPrefix("\"GET <b>,\"\"x\"\"\",3,3,"))
        #expect(lines[2].hasSuffix(",ERR=2;WRONGTYPE=1"))
    }

    @Test("text: a row per test and the errors by type")
    func text() {
        let text = ReportFormatter.text(sampleReport())
        #expect(text.contains("p99.9 ms"))
        #expect(text.contains("SET"))
        #expect(text.contains("ERR 2"))
        #expect(text.contains("WRONGTYPE 1"))
    }

    @Test("HTML: self-contained, two SVG plots, names escaped")
    func html() {
        let page = ReportFormatter.html(sampleReport())
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(page.components(separatedBy: "<svg").count - 1 == 2)
        #expect(page.contains("<polyline"))
        #expect(page.contains("GET &lt;b&gt;"))
        #expect(!page.contains("<script"))
        #expect(!page.contains("http://") || !page.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http://"))
        #expect(!page.contains("https://"))
    }
}

import Foundation

/// Renders a `BenchReport` as text, JSON, CSV or a self-contained HTML page.
public enum ReportFormatter {
    static func ms(_ value: Double) -> String { String(format: "%.3f", value) }

    static func errorsText(_ test: TestReport) -> String {
        test.errorsByType.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ";")
    }

    /// The default table: a row per test, then error details and the verify outcome.
    public static func text(_ report: BenchReport) -> String {
        var lines: [String] = []
        let s = report.settings
        var header = "keyway bench: \(s.target), \(s.clients) clients, \(s.threads) threads, pipeline \(s.pipeline), "
        header += "keyspace \(s.keyspace) (\(s.keyPattern)), data size \(s.dataSize)"
        if let rate = s.rate { header += ", rate \(Int(rate))/s" }
        lines.append(header)
        lines.append("")
        let columns = ["test", "requests", "errors", "rps", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"]
        var rows: [[String]] = [columns]
        for test in report.tests {
            let l = test.latencyMs
            rows.append([
                test.name, String(test.requests), String(test.errors), String(format: "%.1f", test.rps), ms(l.p50),
                ms(l.p90), ms(l.p99), ms(l.p999), ms(l.max),
            ])
        }
        var widths = [Int](repeating: 0, count: columns.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        for row in rows {
            var line = ""
            for (i, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                line += i == 0 ? cell + pad : "  " + pad + cell
            }
            lines.append(line)
        }
        for test in report.tests {
            guard let service = test.serviceMs else { continue }
            lines.append(
                "\(test.name): latency counts from each request's intended send time; from the actual send "
                    + "(uncorrected for coordinated omission): p50 \(ms(service.p50)), p99 \(ms(service.p99)), "
                    + "p99.9 \(ms(service.p999)), max \(ms(service.max)) ms")
        }
        for test in report.tests where test.errors > 0 || test.redirects > 0 {
            var parts: [String] = []
            for (type, count) in test.errorsByType.sorted(by: { $0.key < $1.key }) {
                parts.append("\(type) \(count) (e.g. \"\(test.errorSamples[type] ?? type)\")")
            }
            if test.redirects > 0 { parts.append("\(test.redirects) MOVED/ASK redirects followed") }
            lines.append("\(test.name): " + parts.joined(separator: ", "))
        }
        if let verify = report.verify {
            lines.append("")
            if verify.checked == 0 && verify.lost + verify.mismatched == 0 {
                lines.append("verify: wrote \(verify.keys) keys, generation \(verify.generation)")
            } else {
                lines.append(
                    "verify: generation \(verify.generation), \(verify.checked) keys read, \(verify.lost) lost, "
                        + "\(verify.mismatched) mismatched")
                for issue in verify.issues {
                    switch issue.kind {
                    case .lost: lines.append("  lost: \(issue.key)")
                    case .mismatch: lines.append("  mismatch: \(issue.key) = \"\(issue.found ?? "")\"")
                    }
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One JSON object: `settings`, `tests` (name, requests, errors, rps, latency_ms {p50, p90, p99, p999, max}...),
    /// and `verify` when present.
    public static func json(_ report: BenchReport) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(report) else { return "{}" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The columns of `csv`.
    public static let csvColumns = [
        "test", "requests", "errors", "rps", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "errors_by_type",
    ]

    /// A header row and a row per test.
    public static func csv(_ report: BenchReport) -> String {
        var lines = [csvColumns.joined(separator: ",")]
        for test in report.tests {
            let l = test.latencyMs
            let fields = [
                csvField(test.name), String(test.requests), String(test.errors), String(format: "%.1f", test.rps), ms(l.p50),
                ms(l.p90), ms(l.p99), ms(l.p999), ms(l.max), csvField(errorsText(test)),
            ]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

import Foundation

extension ReportFormatter {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func number(_ value: Double) -> String { String(format: "%.2f", value) }

    /// A nice upper bound for an axis: 1, 2 or 5 times a power of ten, at least `value`.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        let power = pow(10, floor(log10(value)))
        for step in [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] where step * power >= value { return step * power }
        return 10 * power
    }

    /// One self-contained page (no scripts, no external resources): settings, the table, a latency-by-percentile
    /// plot and a throughput-over-time plot, both inline SVG.
    public static func html(_ report: BenchReport) -> String {
        let s = report.settings
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>keyway bench report</title>
            <style>
            body{font-family:sans-serif;margin:24px;color:#222}
            table{border-collapse:collapse;margin:12px 0}
            th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
            th:first-child,td:first-child{text-align:left}
            svg{background:#fff;border:1px solid #ddd;margin:8px 0}
            .axis{stroke:#444;stroke-width:1}
            .grid{stroke:#eee;stroke-width:1}
            text{font-size:12px;fill:#333}
            </style></head><body>
            <h1>keyway bench</h1>

            """
        page += "<p>\(escape(s.target)): \(s.clients) clients, \(s.threads) threads, pipeline \(s.pipeline), "
        page += "keyspace \(s.keyspace) (\(escape(s.keyPattern))), data size \(escape(s.dataSize))"
        if let rate = s.rate { page += ", rate \(Int(rate)) requests/s" }
        page += "</p>\n<table><tr><th>test</th><th>requests</th><th>errors</th><th>requests/s</th><th>p50 ms</th>"
        page += "<th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th></tr>\n"
        for test in report.tests {
            let l = test.latencyMs
            page += "<tr><td>\(escape(test.name))</td><td>\(test.requests)</td><td>\(test.errors)"
            if test.errors > 0 { page += " (\(escape(errorsText(test))))" }
            page += "</td><td>\(String(format: "%.1f", test.rps))</td><td>\(ms(l.p50))</td><td>\(ms(l.p90))</td>"
            page += "<td>\(ms(l.p99))</td><td>\(ms(l.p999))</td><td>\(ms(l.max))</td></tr>\n"
        }
        page += "</table>\n<h2>Latency by percentile</h2>\n" + percentilePlot(report.tests)
        page += "<h2>Throughput over time</h2>\n" + throughputPlot(report.tests)
        if let verify = report.verify {
            page += "<h2>Verify</h2><p>generation \(verify.generation): \(verify.checked) keys read, "
            page += "\(verify.lost) lost, \(verify.mismatched) mismatched</p>\n"
        }
        page += "</body></html>\n"
        return page
    }

    static let width = 800.0
    static let height = 360.0
    static let left = 84.0
    static let right = 180.0
    static let top = 20.0
    static let bottom = 50.0

    static func frame(xLabel: String, yLabel: String, xTicks: [(Double, String)], yMax: Double, title: String) -> String {
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
        svg += "viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(escape(title))\">\n"
        for i in 0...5 {
            let y = top + plotHeight - plotHeight * Double(i) / 5
            svg += "<line class=\"grid\" x1=\"\(number(left))\" y1=\"\(number(y))\" x2=\"\(number(left + plotWidth))\" y2=\"\(number(y))\"/>"
            let value = yMax * Double(i) / 5
            let label = yMax >= 100 ? String(format: "%.0f", value) : String(format: "%.3g", value)
            svg += "<text x=\"\(number(left - 6))\" y=\"\(number(y + 4))\" text-anchor=\"end\">\(label)</text>\n"
        }
        for (x, label) in xTicks {
            let px = left + plotWidth * x
            svg += "<line class=\"grid\" x1=\"\(number(px))\" y1=\"\(number(top))\" x2=\"\(number(px))\" y2=\"\(number(top + plotHeight))\"/>"
            svg += "<text x=\"\(number(px))\" y=\"\(number(top + plotHeight + 16))\" text-anchor=\"middle\">\(escape(label))</text>\n"
        }
        svg += "<line class=\"axis\" x1=\"\(number(left))\" y1=\"\(number(top + plotHeight))\" x2=\"\(number(left + plotWidth))\" y2=\"\(number(top + plotHeight))\"/>"
        svg += "<line class=\"axis\" x1=\"\(number(left))\" y1=\"\(number(top))\" x2=\"\(number(left))\" y2=\"\(number(top + plotHeight))\"/>\n"
        svg += "<text x=\"\(number(left + plotWidth / 2))\" y=\"\(number(height - 10))\" text-anchor=\"middle\">\(escape(xLabel))</text>"
        svg += "<text x=\"16\" y=\"\(number(top + plotHeight / 2))\" text-anchor=\"middle\" "
        svg += "transform=\"rotate(-90 16 \(number(top + plotHeight / 2)))\">\(escape(yLabel))</text>\n"
        return svg
    }

    static func series(_ points: [(Double, Double)], yMax: Double, color: String, index: Int, name: String) -> String {
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let coordinates = points.map { x, y in
            "\(number(left + plotWidth * min(max(x, 0), 1))),\(number(top + plotHeight - plotHeight * min(y / yMax, 1)))"
        }
        var svg = ""
        if coordinates.count == 1 {
            let parts = coordinates[0].split(separator: ",")
            svg += "<circle cx=\"\(parts[0])\" cy=\"\(parts[1])\" r=\"3\" fill=\"\(color)\"/>"
        } else if !coordinates.isEmpty {
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(coordinates.joined(separator: " "))\"/>"
        }
        let legendY = top + 14 + Double(index) * 18
        svg += "<rect x=\"\(number(width - right + 12))\" y=\"\(number(legendY - 9))\" width=\"12\" height=\"10\" fill=\"\(color)\"/>"
        svg += "<text x=\"\(number(width - right + 30))\" y=\"\(number(legendY))\">\(escape(String(name.prefix(22))))</text>\n"
        return svg
    }

    /// Latency (ms) against percentile on HdrHistogram's log scale: x = log10(1 / (1 - p)), up to 99.999%.
    static func percentilePlot(_ tests: [TestReport]) -> String {
        let maxX = 5.0
        func x(_ percentile: Double) -> Double { min(log10(1 / max(1 - percentile / 100, 1e-5)), maxX) / maxX }
        let plotted = tests.map { $0.percentiles.filter { $0.percentile < 100 } }
        let yMax = niceCeiling(plotted.flatMap { $0.map(\.ms) }.max() ?? 1)
        let ticks = [(0.0, "0%"), (1.0, "90%"), (2.0, "99%"), (3.0, "99.9%"), (4.0, "99.99%"), (5.0, "99.999%")]
            .map { ($0.0 / maxX, $0.1) }
        var svg = frame(xLabel: "percentile", yLabel: "latency (ms)", xTicks: ticks, yMax: yMax, title: "latency by percentile")
        for (i, test) in tests.enumerated() {
            let points = plotted[i].map { (x($0.percentile), $0.ms) }
            svg += series(points, yMax: yMax, color: palette[i % palette.count], index: i, name: test.name)
        }
        return svg + "</svg>\n"
    }

    /// Requests per second of each second of each test.
    static func throughputPlot(_ tests: [TestReport]) -> String {
        let maxSecond = max(1, tests.flatMap { $0.timeline.map(\.second) }.max() ?? 1)
        let xMax = niceCeiling(maxSecond)
        let yMax = niceCeiling(max(tests.flatMap { $0.timeline.map(\.rps) }.max() ?? 0, tests.map(\.rps).max() ?? 0, 1))
        let ticks = (0...5).map { i -> (Double, String) in
            (Double(i) / 5, String(format: xMax >= 10 ? "%.0f" : "%.1f", xMax * Double(i) / 5))
        }
        var svg = frame(xLabel: "seconds", yLabel: "requests/s", xTicks: ticks, yMax: yMax, title: "throughput over time")
        for (i, test) in tests.enumerated() {
            var points = test.timeline.map { ($0.second / xMax, $0.rps) }
            // A test shorter than a second has no timeline sample: plot its average.
            if points.isEmpty { points = [(min(test.seconds, xMax) / xMax, test.rps)] }
            svg += series(points, yMax: yMax, color: palette[i % palette.count], index: i, name: test.name)
        }
        return svg + "</svg>\n"
    }
}

/// Writes metric families in the Prometheus text format 0.0.4, for the metrics a role keeps itself.
///
/// The data planes count on their own event loops (plain integers, no atomics or locks per request) and a role's
/// `AdminSource` merges those counts at scrape time; this writer turns the merged snapshot into exposition text,
/// appended after the registry's own families. OpenMetrics is derived from the result as for the registry.
public struct PrometheusTextWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// `# HELP` and `# TYPE` lines of a family (`type`: counter, gauge or histogram). Counter names end in `_total`.
    public mutating func family(_ name: String, type: String, help: String) {
        append("# HELP \(name) ")
        for byte in help.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\n"): append("\\n")
            default: bytes.append(byte)
            }
        }
        append("\n# TYPE \(name) \(type)\n")
    }

    /// One sample line: `name{labels} value`.
    public mutating func sample(_ name: String, labels: [(String, String)] = [], _ value: Double) {
        append(name)
        writeLabels(labels, extra: nil)
        append(" ")
        append(Self.format(value))
        append("\n")
    }

    /// One sample line with an integer value.
    public mutating func sample(_ name: String, labels: [(String, String)] = [], _ value: UInt64) {
        append(name)
        writeLabels(labels, extra: nil)
        append(" \(value)\n")
    }

    /// The samples of one histogram series: cumulative `_bucket` lines for each upper bound (seconds) and `+Inf`,
    /// then `_sum` and `_count`. `counts[i]` is the number of observations in bucket `i` alone (not cumulative),
    /// with one more entry than `upperBounds` for the observations above the last bound.
    public mutating func histogram(
        _ name: String, labels: [(String, String)] = [], upperBounds: [Double], counts: [UInt64], sum: Double
    ) {
        var cumulative: UInt64 = 0
        for (index, bound) in upperBounds.enumerated() {
            cumulative &+= index < counts.count ? counts[index] : 0
            append(name + "_bucket")
            writeLabels(labels, extra: ("le", Self.format(bound)))
            append(" \(cumulative)\n")
        }
        if counts.count > upperBounds.count { cumulative &+= counts[upperBounds.count] }
        append(name + "_bucket")
        writeLabels(labels, extra: ("le", "+Inf"))
        append(" \(cumulative)\n")
        sample(name + "_sum", labels: labels, sum)
        sample(name + "_count", labels: labels, cumulative)
    }

    private mutating func writeLabels(_ labels: [(String, String)], extra: (String, String)?) {
        guard !labels.isEmpty || extra != nil else { return }
        append("{")
        var first = true
        for (key, value) in labels + (extra.map { [$0] } ?? []) {
            if !first { append(",") }
            first = false
            append(key)
            append("=\"")
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): append("\\\\")
                case UInt8(ascii: "\""): append("\\\"")
                case UInt8(ascii: "\n"): append("\\n")
                default: bytes.append(byte)
                }
            }
            append("\"")
        }
        append("}")
    }

    private mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// A sample value as Prometheus writes it: integers without a fraction, `+Inf`/`-Inf`/`NaN` by name.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

/// The text formats `/metrics` serves: Prometheus 0.0.4 by default, OpenMetrics 1.0 when `Accept` asks for it.
public enum MetricsExposition {
    public enum Format: Sendable, Equatable {
        case prometheus
        case openMetrics

        /// The format an `Accept` header asks for: OpenMetrics when it lists `application/openmetrics-text`
        /// (with a non-zero quality), else Prometheus text.
        public init(accept: String?) {
            self = .prometheus
            guard let accept else { return }
            for item in accept.split(separator: ",") {
                let parameters = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                guard parameters.first?.lowercased() == "application/openmetrics-text" else { continue }
                let zeroQuality = parameters.dropFirst().contains { parameter in
                    parameter.lowercased().hasPrefix("q=") && (Double(parameter.dropFirst(2)) ?? 1) == 0
                }
                if !zeroQuality {
                    self = .openMetrics
                    return
                }
            }
        }

        public var contentType: String {
            switch self {
            case .prometheus: "text/plain; version=0.0.4; charset=utf-8"
            case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
            }
        }
    }

    /// Rewrites Prometheus text as OpenMetrics: a counter family is named without `_total` in its metadata
    /// while its samples keep it, HELP escapes double quotes, and the exposition ends with `# EOF`.
    public static func openMetrics(fromPrometheus text: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(text.count + 16)
        var counterFamilies: Set<String> = []
        let lines = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        // Counter families first, so HELP lines (which come before TYPE) are renamed too.
        for line in lines where line.starts(with: "# TYPE ".utf8) {
            let parts = line.split(separator: UInt8(ascii: " "))
            if parts.count == 4, parts[3].elementsEqual("counter".utf8) {
                counterFamilies.insert(String(decoding: parts[2], as: UTF8.self))
            }
        }
        for line in lines {
            if line.starts(with: "# HELP ".utf8) || line.starts(with: "# TYPE ".utf8) {
                let rest = line.dropFirst(7)
                let nameEnd = rest.firstIndex(of: UInt8(ascii: " ")) ?? rest.endIndex
                let name = String(decoding: rest[..<nameEnd], as: UTF8.self)
                output.append(contentsOf: line.prefix(7))
                if counterFamilies.contains(name), name.hasSuffix("_total") {
                    output.append(contentsOf: name.dropLast("_total".count).utf8)
                } else {
                    output.append(contentsOf: name.utf8)
                }
                if line.starts(with: "# HELP ".utf8) {
                    for byte in rest[nameEnd...] {
                        if byte == UInt8(ascii: "\"") { output.append(UInt8(ascii: "\\")) }
                        output.append(byte)
                    }
                } else {
                    output.append(contentsOf: rest[nameEnd...])
                }
            } else if line.first == UInt8(ascii: "#") {
                continue
            } else {
                let nameEnd = line.firstIndex { $0 == UInt8(ascii: "{") || $0 == UInt8(ascii: " ") } ?? line.endIndex
                let name = String(decoding: line[..<nameEnd], as: UTF8.self)
                output.append(contentsOf: line[..<nameEnd])
                if counterFamilies.contains(name), !name.hasSuffix("_total") {
                    output.append(contentsOf: "_total".utf8)
                }
                output.append(contentsOf: line[nameEnd...])
            }
            output.append(UInt8(ascii: "\n"))
        }
        output.append(contentsOf: "# EOF\n".utf8)
        return output
    }
}

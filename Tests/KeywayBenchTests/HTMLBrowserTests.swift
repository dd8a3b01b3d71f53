import Foundation
import TestSupport
import Testing

@testable import KeywayBench

/// Chromium, or nil (the test then says why and is skipped, except in CI where chromium must be there).
let chromiumPath = Peer.path(of: "chromium") ?? Peer.path(of: "chromium-browser")
let chromiumRequired = ProcessInfo.processInfo.environment["CI"] != nil

@Suite("Bench: the HTML report in a real headless browser", .serialized)
struct HTMLBrowserTests {
    /// Renders `file` with headless chromium: the screenshot's bytes, the DOM, and the console lines it logged.
    static func render(_ file: URL, in directory: URL) throws -> (png: Data, dom: String, console: [String]) {
        guard let chromium = chromiumPath else { throw PeerError.notInstalled("chromium") }
        let screenshot = directory.appendingPathComponent("report.png")
        let common = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--user-data-dir=\(directory.appendingPathComponent("profile").path)", "--enable-logging=stderr", "--v=0",
        ]
        let shot = try Peer.run(
            chromium, common + ["--window-size=1000,1400", "--screenshot=\(screenshot.path)", file.absoluteString], timeout: 120)
        let dom = try Peer.run(chromium, common + ["--dump-dom", file.absoluteString], timeout: 120)
        let console = (shot.error + "\n" + dom.error).split(separator: "\n").map(String.init)
            .filter { $0.contains(":CONSOLE(") || $0.contains("Uncaught") || $0.contains("Failed to load resource") }
        let png = (try? Data(contentsOf: screenshot)) ?? Data()
        return (png, dom.output, console)
    }

    @Test("the report renders (non-empty PNG), has both plots in the DOM, and logs no console error")
    func rendersInChromium() throws {
        guard chromiumPath != nil || chromiumRequired else {
            print("skipped: chromium is not installed (apt-get install -y chromium)")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keyway-html-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let page = directory.appendingPathComponent("report.html")
        try ReportFormatter.html(sampleReport()).write(to: page, atomically: true, encoding: .utf8)

        let (png, dom, console) = try Self.render(page, in: directory)
        #expect(png.count > 5_000, "screenshot of \(png.count) bytes")
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG")
        #expect(dom.components(separatedBy: "<svg").count - 1 == 2, "DOM: \(dom.prefix(300))")
        #expect(dom.contains("<polyline"))
        #expect(console.isEmpty, "console: \(console)")

        // The console check itself works: a page with a script error is caught.
        let broken = directory.appendingPathComponent("broken.html")
        try "<!DOCTYPE html><html><body><script>undefinedFunction()</script></body></html>"
            .write(to: broken, atomically: true, encoding: .utf8)
        #expect(!(try Self.render(broken, in: directory).console.isEmpty))
    }
}

import Dispatch
import Foundation

/// Runs external tools for the interop tests.
public enum Tool {
    public struct Result {
        public var exitCode: Int32
        public var stdout: String
        public var stderr: String
    }

    public static func path(_ name: String) -> String? {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// True when the tool is installed, or when `CI` is set (then a missing tool fails the test instead).
    public static func usable(_ name: String) -> Bool {
        path(name) != nil || ProcessInfo.processInfo.environment["CI"] != nil
    }

    public static func run(_ name: String, _ arguments: [String], input: [UInt8]? = nil) async throws -> Result {
        guard let executable = path(name) else { throw NotInstalled(name: name) }
        // The tool runs and is waited for on threads of its own: blocking the few threads of Swift's
        // cooperative pool would starve the server under test, whose requests are answered from tasks.
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Swift.Result<Tool.Result, any Error> {
                    try runBlocking(executable, arguments, input: input)
                })
            }
        }
    }

    private static func runBlocking(_ executable: String, _ arguments: [String], input: [UInt8]?) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let stdout = Pipe()
        let stderr = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = stdin
        try process.run()
        // Read both pipes to the end before waiting, so a large output cannot fill a pipe and stall the tool.
        let errorOutput = DataBox()
        let errorDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let data = stderr.fileHandleForReading.readDataToEndOfFile()
            errorOutput.data = data
            errorDone.signal()
        }
        if let input {
            try stdin.fileHandleForWriting.write(contentsOf: input)
        }
        try stdin.fileHandleForWriting.close()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        errorDone.wait()
        process.waitUntilExit()
        return Result(
            exitCode: process.terminationStatus,
            stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: errorOutput.data, as: UTF8.self)
        )
    }
}

/// A tool the test needs is not on PATH.
public struct NotInstalled: Error, CustomStringConvertible {
    public var name: String
    public var description: String { "\(name) is not installed" }
}

/// stderr's bytes, written by the reading thread before it signals and read only after the wait.
private final class DataBox: @unchecked Sendable {
    var data = Data()
}

import Logging
import NIOConcurrencyHelpers

/// A log level that can change while the process runs (`PUT /v1/config/loglevel`).
///
/// Every logger made by `makeHandler` reads the level from here, so one change reaches every copy of every logger.
public final class LogLevelControl: Sendable {
    private let box: NIOLockedValueBox<Logger.Level>

    public init(level: Logger.Level = .info) {
        box = NIOLockedValueBox(level)
    }

    public var level: Logger.Level {
        get { box.withLockedValue { $0 } }
        set { box.withLockedValue { $0 = newValue } }
    }

    /// A handler writing to standard error whose level is this control's (for `LoggingSystem.bootstrap`).
    public func makeHandler(label: String) -> any LogHandler {
        ControlledLogHandler(inner: StreamLogHandler.standardError(label: label), control: self)
    }

    /// Redis's `loglevel` names and swift-log's own, to a level.
    public static func level(named name: String) -> Logger.Level? {
        switch name.lowercased() {
        case "debug": .debug
        case "verbose": .info
        case "notice": .notice
        case "warning": .warning
        default: Logger.Level(rawValue: name.lowercased())
        }
    }
}

/// A stream handler whose level lives in a `LogLevelControl`.
struct ControlledLogHandler: LogHandler {
    var inner: StreamLogHandler
    let control: LogLevelControl

    var logLevel: Logger.Level {
        get { control.level }
        set { control.level = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        inner.log(event: event)
    }
}

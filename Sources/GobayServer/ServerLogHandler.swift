import Foundation
import GobayCore
import Logging
import Synchronization

/// Writes the server's log to stderr, one line per event, as logfmt
/// (`time=... level=info msg="..." key=value`, values quoted when they need it) or as one JSON
/// object per line, per `server.log_format`.
public struct ServerLogHandler: LogHandler {
    /// The handler's level (`LOG_LEVEL`, default info).
    public var logLevel: Logger.Level = .info
    /// Metadata attached to every line of this logger.
    public var metadata: Logger.Metadata = [:]
    /// Unused; present for the protocol.
    public var metadataProvider: Logger.MetadataProvider?
    let format: LogFormat

    /// A handler writing `format`.
    public init(format: LogFormat) { self.format = format }

    /// Metadata of this logger by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line for `event`.
    public func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        let line = Self.line(
            format: format, time: Date(), level: event.level, message: event.message.description, metadata: fields)
        Self.output.withLock { _ in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// One formatted line, without its newline.
    static func line(format: LogFormat, time: Date, level: Logger.Level, message: String, metadata: Logger.Metadata)
        -> String
    {
        let head: [(String, String)] = [
            ("time", Timestamp.string(time)), ("level", level.rawValue), ("msg", message),
        ]
        let rest = metadata.keys.sorted().map { ($0, "\(metadata[$0] ?? "")") }
        switch format {
        case .text:
            return (head + rest).map { "\($0.0)=\(logfmt($0.1))" }.joined(separator: " ")
        case .json:
            return "{" + (head + rest).map { "\(json($0.0)):\(json($0.1))" }.joined(separator: ",") + "}"
        }
    }

    /// A logfmt value: bare when it is safe, else double-quoted with `"` and `\` escaped.
    static func logfmt(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "\\" || $0.value < 0x20 }
        return needsQuotes ? json(value) : value
    }

    /// A JSON string literal.
    static func json(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Serializes writes so lines from several threads never interleave.
    private static let output = Mutex(())
}

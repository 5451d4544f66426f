import Foundation

/// How the server writes its log lines.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `time level message key=value ...`, values quoted when they hold spaces, quotes or `=`.
    case text
    /// One JSON object per line.
    case json
}

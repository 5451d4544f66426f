import Foundation

/// The kinds of failure gobay reports, each mapped to a process exit code.
public enum FailureKind: Sendable {
    /// Bad input from the user: config, arguments, refs, unknown names. Exit code 2.
    case usage
    /// A build or an operation that ran and failed. Exit code 1.
    case failure
}

/// An error that carries a message for the user: what is wrong and how to fix it.
public struct GobayError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, naming the thing that is wrong.
    public let message: String
    /// How to fix it, when there is something to say.
    public let hint: String?
    /// Whether this is a usage error (exit 2) or an operational failure (exit 1).
    public let kind: FailureKind

    /// Creates an error with a message, an optional hint and a kind.
    public init(_ message: String, hint: String? = nil, kind: FailureKind = .usage) {
        self.message = message
        self.hint = hint
        self.kind = kind
    }

    /// A failure of an operation rather than of the input.
    public static func failure(_ message: String, hint: String? = nil) -> GobayError {
        GobayError(message, hint: hint, kind: .failure)
    }

    /// The process exit code for this error.
    public var exitCode: Int32 { kind == .usage ? 2 : 1 }

    public var description: String {
        if let hint { return "error: \(message)\nhint: \(hint)" }
        return "error: \(message)"
    }
}

import Foundation

/// gobay's general error: a message, a hint and a kind.
public struct GobayError: UserFacingError {
    public let message: String
    public let hint: String?
    public let kind: FailureKind

    /// Creates an error with a message, an optional hint and a kind (a usage error by default).
    public init(_ message: String, hint: String? = nil, kind: FailureKind = .usage) {
        self.message = message
        self.hint = hint
        self.kind = kind
    }

    /// A failure of an operation rather than of the input.
    public static func failure(_ message: String, hint: String? = nil) -> GobayError {
        GobayError(message, hint: hint, kind: .failure)
    }
}

import Foundation

/// An API token as configured: the SHA-256 of the token, or a variable holding the token itself.
public enum TokenSource: Sendable, Equatable {
    /// Lowercase hex SHA-256 of the token.
    case sha256(String)
    /// The token is in this environment variable.
    case environment(String)
}

import Foundation

/// A secret as written in gobay.yml: a literal, `{env: VAR}`, or (for a project's webhook secret) `none`.
public enum SecretSource: Sendable, Equatable {
    /// The secret itself, written in the file.
    case literal(String)
    /// Read from this environment variable when needed.
    case environment(String)
    /// Explicitly no secret: hooks for this project are accepted unverified.
    case none

    /// The secret's value; throws naming the variable when it is unset.
    public func resolve(_ env: [String: String] = ProcessInfo.processInfo.environment, what: String) throws -> String? {
        switch self {
        case .literal(let value): return value
        case .none: return nil
        case .environment(let name):
            guard let value = env[name], !value.isEmpty else {
                throw GobayError(
                    "\(what) reads the environment variable \(name), which is not set",
                    hint: "export \(name) before starting gobay, or write the secret in the config")
            }
            return value
        }
    }
}

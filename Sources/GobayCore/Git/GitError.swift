import Foundation

/// A git command that failed.
public struct GitError: UserFacingError {
    /// The arguments git was given.
    public var args: [String]
    /// Its exit status.
    public var status: Int32
    /// What it printed on stderr.
    public var stderr: String

    public var message: String {
        "git \(args.first ?? "") failed (exit \(status)): \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
    }
    public var hint: String? { nil }
    public var kind: FailureKind { .failure }
    public var description: String { message }
}

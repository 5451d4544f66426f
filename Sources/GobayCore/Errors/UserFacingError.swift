import Foundation

/// An error that carries what its user needs: a message naming the problem, a hint naming the fix,
/// and a kind that decides the exit code and HTTP status. The CLI (`CommandMain.exit`) and the
/// server (`APIError.init(_:)`) each map it in one place.
public protocol UserFacingError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, naming the thing that is wrong.
    var message: String { get }
    /// How to fix it, when there is something to say.
    var hint: String? { get }
    /// What kind of problem it is.
    var kind: FailureKind { get }
}

extension UserFacingError {
    /// The process exit code for this error.
    public var exitCode: Int32 { kind.exitCode }

    /// `error: MESSAGE` and, when there is one, `hint: HINT` on the next line.
    public var description: String {
        if let hint { return "error: \(message)\nhint: \(hint)" }
        return "error: \(message)"
    }
}

/// The message of any error: a user-facing error's own message, or the error's description.
public func userMessage(_ error: any Error) -> String {
    (error as? any UserFacingError)?.message ?? "\(error)"
}

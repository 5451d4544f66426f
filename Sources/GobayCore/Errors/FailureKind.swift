import Foundation

/// What kind of problem an error is. It alone decides the CLI's exit code and the API's HTTP
/// status, so no caller ever picks either by reading an error's text.
public enum FailureKind: Sendable, Equatable {
    /// Bad input: config, arguments, a malformed value. Exit 2, HTTP 400.
    case usage
    /// An unknown name: project, environment, build. Exit 2, HTTP 404.
    case notFound
    /// Well-formed input that names nothing usable, such as a ref the repository lacks. Exit 2, HTTP 422.
    case unprocessable
    /// The request contradicts the current state, such as cancelling a build that ended. Exit 2, HTTP 409.
    case conflict
    /// Something gobay depends on failed: a git remote, a download server. Exit 1, HTTP 502.
    case upstream
    /// gobay cannot do it right now (a full disk, a busy database); trying later may work. Exit 1, HTTP 503.
    case unavailable
    /// A build or an operation that ran and failed. Exit 1, HTTP 500.
    case failure

    /// The process exit code: 2 for the caller's mistakes, 1 for failures.
    public var exitCode: Int32 {
        switch self {
        case .usage, .notFound, .unprocessable, .conflict: 2
        case .upstream, .unavailable, .failure: 1
        }
    }

    /// The HTTP status code the API answers with.
    public var httpStatus: Int {
        switch self {
        case .usage: 400
        case .notFound: 404
        case .unprocessable: 422
        case .conflict: 409
        case .upstream: 502
        case .unavailable: 503
        case .failure: 500
        }
    }
}

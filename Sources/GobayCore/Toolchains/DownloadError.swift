import NIOFileSystem

/// Why a download did not complete; each case names what failed and how to go on.
public enum DownloadError: UserFacingError {
    /// No answer at all: the connection was refused, the host unreachable, or it timed out.
    case unreachable(url: String, reason: String)
    /// The server answered with a status other than 200.
    case status(url: String, code: Int)
    /// The body broke off, or ended before the length the server announced.
    case cutShort(url: String, received: Int64?, expected: Int64?, reason: String?)
    /// The file could not be written because its disk is full.
    case noSpace(url: String, path: String)
    /// The file could not be created or written for another reason.
    case cannotWrite(url: String, path: String, reason: String)

    /// Classifies a file system error met while writing `path`, by its errno.
    init(writing path: String, url: String, _ error: FileSystemError) {
        if let call = error.cause as? FileSystemError.SystemCallError, call.errno == .noSpace {
            self = .noSpace(url: url, path: path)
        } else {
            self = .cannotWrite(url: url, path: path, reason: error.message)
        }
    }

    /// What failed, naming the URL.
    public var message: String {
        switch self {
        case .unreachable(let url, let reason):
            return "download of \(url) failed: cannot reach the server (\(reason))"
        case .status(let url, let code):
            return "download of \(url) failed: the server answered HTTP \(code)"
        case .cutShort(let url, let received, let expected, let reason):
            let bytes = received.map { received in expected.map { "\(received) of \($0) bytes" } ?? "\(received) bytes"
            }
            return "download of \(url) was cut short" + (bytes.map { ": \($0)" } ?? "")
                + (reason.map { " (\($0))" } ?? "")
        case .noSpace(let url, let path):
            return "download of \(url) failed: no space left on device for \(path)"
        case .cannotWrite(let url, let path, let reason):
            return "download of \(url) failed: cannot write \(path): \(reason)"
        }
    }

    /// How to go on.
    public var hint: String? {
        switch self {
        case .unreachable: return "check the mirror URL and the network, then retry"
        case .status: return "check that the mirror has this file"
        case .cutShort: return "retry the install"
        case .noSpace: return "free some space there (or move data_dir); nothing was installed"
        case .cannotWrite: return "check free disk space and permissions"
        }
    }

    /// A server that failed or could not be reached is upstream; a full disk may pass.
    public var kind: FailureKind {
        switch self {
        case .unreachable, .status, .cutShort: .upstream
        case .noSpace: .unavailable
        case .cannotWrite: .failure
        }
    }
}

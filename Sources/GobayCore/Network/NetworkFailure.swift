import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// Short reasons for network failures, for messages that name what failed without NIO's type dumps.
public enum NetworkFailure {
    /// Why no answer came, e.g. "Connection refused", "cannot resolve go.dev", "timed out connecting".
    public static func reason(_ error: any Error) -> String {
        switch error {
        case let error as NIOConnectionError:
            if let failure = error.connectionErrors.first { return reason(failure.error) }
            if error.dnsAError != nil || error.dnsAAAAError != nil { return "cannot resolve \(error.host)" }
            return "cannot connect to \(error.host):\(error.port)"
        case let error as IOError:
            return String(cString: strerror(error.errnoCode))
        case let error as HTTPClientError:
            switch error {
            case .connectTimeout: return "timed out connecting"
            case .readTimeout: return "no data for too long"
            case .deadlineExceeded: return "no answer in time"
            case .remoteConnectionClosed: return "the server closed the connection"
            default: return "\(error)"
            }
        default:
            return "\(error)"
        }
    }
}

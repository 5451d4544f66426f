import Foundation

/// A docker command that failed.
struct DockerError: UserFacingError {
    var args: [String]
    var status: Int32
    var stderr: String

    var message: String { "docker \(args.prefix(2).joined(separator: " ")) failed (exit \(status)): \(stderr)" }
    var hint: String? { nil }
    var kind: FailureKind { .failure }
    var description: String { message }
}

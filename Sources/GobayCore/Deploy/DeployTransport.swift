import CGobay
import Foundation

/// What ran on a target.
public struct RemoteResult: Sendable {
    /// The exit status (ssh's 255 when the connection failed).
    public var status: Int32
    /// Its standard output.
    public var stdout: String
    /// Its standard error.
    public var stderr: String
    /// How long it ran on the target, when the target said (`runParts`).
    public var milliseconds: Int? = nil
    /// Whether it exited 0.
    public var succeeded: Bool { status == 0 }
    /// The last line of stderr (or stdout), for an error message.
    public var lastLine: String {
        let text = stderr.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? stdout : stderr
        return text.split(separator: "\n").last.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
    }
}

/// How deploy steps reach a target: argument vectors run there, and files copied there.
public protocol DeployTransport: Sendable {
    /// Runs `argv` on the target.
    func run(_ argv: [String], deadline: Date?) async throws -> RemoteResult
    /// Copies the local file `local` to `remote` on the target (a new file), then runs `parts`
    /// there as `runParts` does, stopping at a failure, each timed; in one round trip where the
    /// transport can (over SSH the file streams through the command's stdin). Throws when the
    /// copy fails; returns the results of the parts that ran. `widenPipe`: the target has perl,
    /// which can widen the receiving command's stdin pipe (see `SSHTransport.upload`).
    func upload(_ local: String, to remote: String, widenPipe: Bool, then parts: [[[String]]], deadline: Date?)
        async throws -> [RemoteResult]
    /// Runs `argvs` on the target one after another while each exits 0; the result is the
    /// last one run, with the output of all.
    func runAll(_ argvs: [[String]], deadline: Date?) async throws -> RemoteResult
    /// Runs `parts` in one round trip (see `RemoteCommand.parts`); one result per part that
    /// ran, each with stderr merged into stdout. Fewer results than parts means the rest did
    /// not run.
    func runParts(_ parts: [[[String]]], stopAtFailure: Bool, timed: Bool, deadline: Date?) async throws
        -> [RemoteResult]
    /// A local unix socket that reaches `remote`, a unix socket path or `host:port` on the
    /// target, for as long as the connection lasts; nil when the target does not allow it.
    func reach(_ remote: SocketAddress, deadline: Date?) async -> String?
}

/// A socket on a target: a unix socket path, or a TCP port on a host the target can reach.
public enum SocketAddress: Sendable, Equatable {
    case unix(String)
    case tcp(host: String, port: Int)
}

extension DeployTransport {
    public func runAll(_ argvs: [[String]], deadline: Date?) async throws -> RemoteResult {
        var combined = RemoteResult(status: 0, stdout: "", stderr: "")
        for argv in argvs {
            let result = try await run(argv, deadline: deadline)
            combined = RemoteResult(
                status: result.status, stdout: combined.stdout + result.stdout, stderr: combined.stderr + result.stderr)
            if !result.succeeded { break }
        }
        return combined
    }

    public func runParts(_ parts: [[[String]]], stopAtFailure: Bool, timed: Bool, deadline: Date?) async throws
        -> [RemoteResult] {
        var results: [RemoteResult] = []
        for part in parts {
            let start = Date()
            let result = try await runAll(part, deadline: deadline)
            results.append(
                RemoteResult(
                    status: result.status, stdout: result.stdout + result.stderr, stderr: "",
                    milliseconds: Int(Date().timeIntervalSince(start) * 1000)))
            if stopAtFailure && !result.succeeded { break }
        }
        return results
    }
}

/// `host: local`: the same steps on this machine, each an argument vector, no SSH and no shell.
public struct LocalTransport: DeployTransport {
    /// The variables of every command run, and the deployment's marker.
    let environment: [String: String]

    /// A transport to this machine; `marker` goes into every command's environment.
    public init(marker: [String: String] = [:]) {
        environment = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"]
            .merging(marker) { _, new in new }
    }

    public func run(_ argv: [String], deadline: Date?) async throws -> RemoteResult {
        guard let first = argv.first, ProcessRunner.resolveExecutable(first, environment: environment) != nil else {
            // As a shell says it: 127, not found (`command -v openssl` finds no program `command`).
            return RemoteResult(status: 127, stdout: "", stderr: "\(argv.first ?? ""): not found")
        }
        let (outcome, stdout, stderr) = try await ProcessRunner.capture(
            ProcessSpec(argv, environment: environment), deadline: deadline)
        return RemoteResult(status: outcome.timedOut ? 124 : outcome.status, stdout: stdout, stderr: stderr)
    }

    /// This machine's own socket; a TCP port is not reached through a unix socket here.
    public func reach(_ remote: SocketAddress, deadline: Date?) async -> String? {
        if case .unix(let path) = remote { return path }
        return nil
    }

    /// gobay copies the file itself; there is no pipe to widen.
    public func upload(_ local: String, to remote: String, widenPipe: Bool, then parts: [[[String]]], deadline: Date?)
        async throws -> [RemoteResult]
    {
        try await BlockingThread.run("gobay-deploy-copy") {
            let result = cgobay_copy_file(local, remote, 0o600)
            guard result == 0 else {
                throw GobayError.failure("cannot copy \(local) to \(remote): \(String(cString: strerror(-result)))")
            }
        }
        return try await runParts(parts, stopAtFailure: true, timed: true, deadline: deadline)
    }
}

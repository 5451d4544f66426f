import Foundation

/// A target reached with the system's OpenSSH client, through one ControlMaster connection per
/// target for a whole deploy. Every process is an argument vector; the remote side gets one
/// command string, always made by `RemoteCommand.line`. Host keys are checked strictly against
/// the target's known_hosts file, and only its identity file is offered.
public struct SSHTransport: DeployTransport {
    let target: DeployTargetConfig
    let controlPath: String
    /// The variables of every ssh and scp process: no agent, the deployment's marker.
    let environment: [String: String]

    /// The options every ssh and scp call shares.
    static func options(_ target: DeployTargetConfig, controlPath: String) -> [String] {
        var options = [
            "-F", "none",
            "-o", "BatchMode=yes",
            "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "UserKnownHostsFile=\(target.knownHosts ?? "/dev/null")",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "ControlPath=\(controlPath)",
            "-o", "ConnectTimeout=15",
            "-o", "ServerAliveInterval=10",
            "-o", "ServerAliveCountMax=3",
            "-o", "LogLevel=ERROR",
        ]
        if let identity = target.identityFile { options += ["-o", "IdentityFile=\(identity)"] }
        if let user = target.user { options += ["-o", "User=\(user)"] }
        return options
    }

    /// The host as ssh and scp name it.
    private var host: String { target.host ?? "localhost" }

    public func run(_ argv: [String], deadline: Date?) async throws -> RemoteResult {
        try await remote(try RemoteCommand.line(argv), deadline: deadline)
    }

    /// One round trip: the vectors joined with `&&` by `RemoteCommand.sequence`.
    public func runAll(_ argvs: [[String]], deadline: Date?) async throws -> RemoteResult {
        try await remote(try RemoteCommand.sequence(argvs), deadline: deadline)
    }

    public func runParts(_ parts: [[[String]]], stopAtFailure: Bool, timed: Bool, deadline: Date?) async throws
        -> [RemoteResult] {
        let separator = "gobay-part-" + UUID().uuidString.lowercased()
        let result = try await remote(
            try RemoteCommand.parts(parts, separator: separator, stopAtFailure: stopAtFailure, timed: timed), deadline: deadline)
        var results = RemoteParts.split(result.stdout, separator: separator)
        if results.count < parts.count, !result.succeeded, !(stopAtFailure && results.last.map { !$0.succeeded } == true) {
            // The connection or the shell died part way: the part that was running failed with it.
            results.append(RemoteResult(status: result.status, stdout: result.stderr, stderr: ""))
        }
        return results
    }

    /// Forwards a local unix socket in the connection's private dir to `remote`, through the
    /// master (`ssh -O forward`); the forward ends with the master.
    public func reach(_ remote: SocketAddress, deadline: Date?) async -> String? {
        let local = (controlPath as NSString).deletingLastPathComponent + "/fwd-" + UUID().uuidString.prefix(8).lowercased()
        let destination: String
        switch remote {
        case .unix(let path): destination = path
        case .tcp(let host, let port): destination = (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
        }
        let spec = ProcessSpec(
            ["ssh"] + Self.options(target, controlPath: controlPath)
                + ["-O", "forward", "-L", "\(local):\(destination)", "-p", String(target.port), "--", host],
            environment: environment)
        guard let (outcome, _, _) = try? await ProcessRunner.capture(spec, deadline: deadline), outcome.succeeded,
            FileManager.default.fileExists(atPath: local)
        else { return nil }
        return local
    }

    /// Runs one command line, made by `RemoteCommand`, through the master connection.
    private func remote(_ line: String, deadline: Date?) async throws -> RemoteResult {
        let spec = ProcessSpec(
            ["ssh"] + Self.options(target, controlPath: controlPath)
                + ["-o", "ControlMaster=no", "-p", String(target.port), "--", host, line],
            environment: environment)
        let (outcome, stdout, stderr) = try await ProcessRunner.capture(spec, deadline: deadline)
        return RemoteResult(status: outcome.timedOut ? 124 : outcome.status, stdout: stdout, stderr: stderr)
    }

    public func upload(_ local: String, to remote: String, deadline: Date?) async throws {
        // scp speaks SFTP: the remote path is taken as it is, with no shell in between.
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let spec = ProcessSpec(
            ["scp", "-q"] + Self.options(target, controlPath: controlPath)
                + ["-o", "ControlMaster=no", "-P", String(target.port), "--", local, "\(hostPart):\(remote)"],
            environment: environment)
        let (outcome, stdout, stderr) = try await ProcessRunner.capture(spec, deadline: deadline)
        let result = RemoteResult(status: outcome.status, stdout: stdout, stderr: stderr)
        guard outcome.succeeded else {
            throw GobayError(
                "target \(target.name): upload to \(remote) failed: \(outcome.timedOut ? "timed out" : result.lastLine)",
                hint: "check free space and permissions under \(target.path) on \(host)", kind: .upstream)
        }
    }

    /// Opens the target's master connection, runs `body` with a transport that uses it, and
    /// closes it (the master is a child task: it ends with the deploy, whatever happens).
    public static func withConnection<T: Sendable>(
        _ target: DeployTargetConfig, marker: [String: String], deadline: Date?,
        log: @escaping @Sendable (String) -> Void,
        _ body: @Sendable (SSHTransport) async throws -> T
    ) async throws -> T {
        // A unix socket path is at most 108 bytes: a short private dir of its own.
        let dir = "/tmp/gobay-ssh-" + UUID().uuidString.prefix(12).lowercased()
        guard mkdir(dir, 0o700) == 0 else {
            throw GobayError.failure("cannot create \(dir): \(String(cString: strerror(errno)))")
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C"].merging(marker) { _, new in new }
        let transport = SSHTransport(target: target, controlPath: dir + "/cm", environment: environment)
        let (events, eventInput) = AsyncStream.makeStream(of: MasterEvent.self)
        let readyLine = "gobay-connected"
        let master = ProcessSpec(
            ["ssh"] + options(target, controlPath: transport.controlPath)
                + ["-o", "ControlMaster=yes", "-p", String(target.port), "--", transport.host,
                   // Says so once connected, then holds the session open until the master is stopped
                   // (its stdin is /dev/null, so nothing may wait on it).
                   try RemoteCommand.sequence([["echo", readyLine], ["sleep", "2147483647"]])],
            environment: environment)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                var lines: [String] = []
                _ = try await ProcessRunner.run(master) { line in
                    if line == readyLine { eventInput.yield(.connected) } else { lines.append(line) }
                }
                eventInput.yield(.exited(lines))
                eventInput.finish()
                return nil
            }
            var iterator = events.makeAsyncIterator()
            switch await iterator.next() {
            case .connected: break
            case .exited(let lines): throw connectError(target, lines)
            case nil: throw connectError(target, [])
            }
            log("connected to \(transport.host):\(target.port) (one connection for the whole deploy)")
            let value = try await body(transport)
            _ = try? await ProcessRunner.capture(
                ProcessSpec(
                    ["ssh"] + options(target, controlPath: transport.controlPath)
                        + ["-O", "exit", "-p", String(target.port), "--", transport.host],
                    environment: environment), deadline: Date().addingTimeInterval(10))
            group.cancelAll()
            return value
        }
    }

    /// The master says it is connected once it is up, or that it exited, with what ssh printed.
    enum MasterEvent: Sendable {
        case connected
        case exited([String])
    }

    /// What a failed connection means, in words that name the target and the fix.
    static func connectError(_ target: DeployTargetConfig, _ output: [String]) -> GobayError {
        let text = output.joined(separator: "\n")
        let last = output.last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) ?? "ssh exited"
        let address = "\(target.host ?? ""):\(target.port)"
        if text.contains("Host key verification failed") || text.contains("host key") && text.contains("known") {
            return GobayError(
                "target \(target.name): the host key of \(address) is not in \(target.knownHosts ?? "known_hosts") or does not match",
                hint: "check the host's key out of band, then add it to that file (ssh-keyscan -p \(target.port) \(target.host ?? ""))",
                kind: .upstream)
        }
        if text.contains("Permission denied") {
            return GobayError(
                "target \(target.name): \(address) refused the key \(target.identityFile ?? "")",
                hint: "add its public key to the authorized_keys of user \(target.user ?? "(ssh default)") on the target",
                kind: .upstream)
        }
        if text.contains("Connection refused") || text.contains("timed out") || text.contains("No route")
            || text.contains("Could not resolve")
        {
            return GobayError(
                "target \(target.name): cannot connect to \(address): \(last)",
                hint: "check that sshd runs there and the host and port are right", kind: .upstream)
        }
        return GobayError("target \(target.name): ssh to \(address) failed: \(last)", kind: .upstream)
    }
}

import CGobay
import Foundation
import Synchronization

/// A target reached with the system's OpenSSH client, through one ControlMaster connection per
/// target for a whole deploy. Every process is an argument vector; the remote side gets one
/// command string, always made by `RemoteCommand.line`. Host keys are checked strictly against
/// the target's known_hosts file, and only its identity file is offered.
public struct SSHTransport: DeployTransport {
    let target: DeployTargetConfig
    let controlPath: String
    /// The variables of every ssh process: no agent, the deployment's marker.
    let environment: [String: String]

    /// The options every ssh call shares.
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
            // AES-GCM ahead of the default list: the same AEAD strength as chacha20-poly1305, and
            // about half its CPU for an upload on machines with AES instructions. The key exchange
            // stays OpenSSH's default (post-quantum hybrid first).
            "-o", "Ciphers=^aes128-gcm@openssh.com,aes256-gcm@openssh.com",
        ]
        if let identity = target.identityFile { options += ["-o", "IdentityFile=\(identity)"] }
        if let user = target.user { options += ["-o", "User=\(user)"] }
        return options
    }

    /// A command prefix: perl widens its stdin pipe (F_SETPIPE_SZ, 1031 on Linux) to 1 MiB, or
    /// 256 KiB where 1 MiB is over the limit, then execs the command after `--`.
    static let pipeWidener = [
        "perl", "-e",
        #"if ($^O eq "linux") { for my $size (1048576, 262144) { last if fcntl(STDIN, 1031, $size) } } "#
            + #"exec { $ARGV[0] } @ARGV; die "gobay: cannot run $ARGV[0]: $!\n";"#,
        "--",
    ]

    /// The host as ssh names it.
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
        try await runParts(parts, stopAtFailure: stopAtFailure, timed: timed, stdin: nil, deadline: deadline)
    }

    /// `runParts`, with the local file `stdin` (if any) as the remote command's stdin.
    private func runParts(_ parts: [[[String]]], stopAtFailure: Bool, timed: Bool, stdin: String?, deadline: Date?)
        async throws -> [RemoteResult]
    {
        let separator = "gobay-part-" + UUID().uuidString.lowercased()
        let result = try await remote(
            try RemoteCommand.parts(parts, separator: separator, stopAtFailure: stopAtFailure, timed: timed),
            stdin: stdin, deadline: deadline)
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
    private func remote(_ line: String, stdin: String? = nil, deadline: Date?) async throws -> RemoteResult {
        var spec = ProcessSpec(
            ["ssh"] + Self.options(target, controlPath: controlPath)
                + ["-o", "ControlMaster=no", "-p", String(target.port), "--", host, line],
            environment: environment)
        spec.stdinPath = stdin
        let (outcome, stdout, stderr) = try await ProcessRunner.capture(spec, deadline: deadline)
        return RemoteResult(status: outcome.timedOut ? 124 : outcome.status, stdout: stdout, stderr: stderr)
    }

    /// The file streams through the session's stdin into `dd` (no SFTP session, no second round
    /// trip), and `parts` run after it in the same command line.
    ///
    /// With `widenPipe`, perl first makes that stdin pipe 1 MiB (Linux's limit for a user; the
    /// default is 64 KiB) and then execs `dd`. sshd writes the channel's data into the pipe as
    /// it can; with 64 KiB at a time it keeps up to the channel window (2 MiB) in a buffer that
    /// it grows by copying into fresh memory packet by packet, which cost the target more CPU
    /// than the rest of the upload (`bench/deploy`: sshd 140 → 50 ms per 10 MB target). Where
    /// the size cannot be set (another system, a lower limit) `dd` runs all the same.
    public func upload(_ local: String, to remote: String, widenPipe: Bool, then parts: [[[String]]], deadline: Date?)
        async throws -> [RemoteResult]
    {
        let copy = [(widenPipe ? Self.pipeWidener : []) + ["dd", "of=" + remote, "bs=1M", "status=none"]]
        let results = try await runParts([copy] + parts, stopAtFailure: true, timed: true, stdin: local, deadline: deadline)
        guard let copied = results.first, copied.succeeded else {
            throw GobayError(
                "target \(target.name): upload to \(remote) failed: \(results.first?.lastLine ?? "the connection ended")",
                hint: "check free space and permissions under \(target.path) on \(host)", kind: .upstream)
        }
        return Array(results.dropFirst())
    }

    /// Opens the target's master connection, whose own session first runs `opening` (as
    /// `runParts` does, without stopping at a failure: the first round trip rides on the
    /// connection's setup), then waits on its stdin. Runs `body` with a transport that uses the
    /// connection and the results of `opening`, then closes the master's stdin: its session ends
    /// and the connection with it. The remote shell only waits on that stdin, which ends with
    /// the connection whatever happens (gobay killed, the network gone), so nothing of a deploy
    /// stays running on the target.
    public static func withConnection<T: Sendable>(
        _ target: DeployTargetConfig, marker: [String: String], opening: [[[String]]], deadline: Date?,
        log: @escaping @Sendable (String) -> Void,
        _ body: @Sendable (SSHTransport, [RemoteResult]) async throws -> T
    ) async throws -> T {
        // A unix socket path is at most 108 bytes: a short private dir of its own.
        let dir = "/tmp/gobay-ssh-" + UUID().uuidString.prefix(12).lowercased()
        guard mkdir(dir, 0o700) == 0 else {
            throw GobayError.failure("cannot create \(dir): \(String(cString: strerror(errno)))")
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C"].merging(marker) { _, new in new }
        let transport = SSHTransport(target: target, controlPath: dir + "/cm", environment: environment)
        let stdin = try MasterInput()
        defer { stdin.closeAll() }
        // Fresh random words: no output of `opening` (a config file it prints) can forge them.
        let separator = "gobay-part-" + UUID().uuidString.lowercased()
        let readyLine = "gobay-connected-" + UUID().uuidString.lowercased()
        let script =
            (opening.isEmpty ? "" : try RemoteCommand.parts(opening, separator: separator, stopAtFailure: false))
            + (try RemoteCommand.sequence([["echo", readyLine], ["read", "line"]]))
        let master = {
            var spec = ProcessSpec(
                ["ssh"] + options(target, controlPath: transport.controlPath)
                    + ["-o", "ControlMaster=yes", "-p", String(target.port), "--", transport.host, script],
                environment: environment)
            spec.stdinDescriptor = stdin.readEnd
            return spec
        }()
        let (events, eventInput) = AsyncStream.makeStream(of: MasterEvent.self)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                var lines: [String] = []
                var connected = false
                _ = try await ProcessRunner.run(master) { line in
                    if !connected && line == readyLine {
                        connected = true
                        eventInput.yield(.connected(lines))
                        lines = []
                    } else {
                        lines.append(line)
                    }
                }
                eventInput.yield(.exited(lines))
                eventInput.finish()
                return nil
            }
            var iterator = events.makeAsyncIterator()
            let opened: [RemoteResult]
            switch await iterator.next() {
            case .connected(let lines):
                opened = RemoteParts.split(lines.joined(separator: "\n") + "\n", separator: separator)
            case .exited(let lines): throw connectError(target, lines)
            case nil: throw connectError(target, [])
            }
            log("connected to \(transport.host):\(target.port) (one connection for the whole deploy)")
            let value = try await body(transport, opened)
            // EOF on the master's stdin ends its remote `read`, its session and the connection.
            stdin.closeWriteEnd()
            group.addTask {
                try? await Task.sleep(for: .seconds(10))
                return nil
            }
            _ = try await group.next()
            group.cancelAll()
            return value
        }
    }

    /// The master's stdin: a pipe gobay holds the write end of for as long as the deploy runs.
    final class MasterInput: Sendable {
        let readEnd: Int32
        private let writeEnd: Mutex<Int32>

        init() throws {
            var fds: [Int32] = [0, 0]
            guard cgobay_pipe_cloexec(&fds) == 0 else {
                throw GobayError.failure("cannot make a pipe: \(String(cString: strerror(errno)))")
            }
            readEnd = fds[0]
            writeEnd = Mutex(fds[1])
        }

        func closeWriteEnd() {
            writeEnd.withLock { fd in
                if fd >= 0 { close(fd) }
                fd = -1
            }
        }

        func closeAll() {
            closeWriteEnd()
            close(readEnd)
        }
    }

    /// The master says it is connected once it is up, or that it exited, with what ssh printed.
    enum MasterEvent: Sendable {
        /// With what the opening parts printed.
        case connected([String])
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

import Foundation
import GobayCore
import Synchronization

/// A deploy target for tests: a real OpenSSH sshd on a loopback port that lets root in with one
/// ed25519 key only, and a real supervisord running one program from `<deployPath>/current`.
/// Everything (keys, configs, logs, sockets, the deploy path) lives in the directory it is given.
/// It also makes a second, unrelated client key and known_hosts files that do not match, for the
/// tests of what gobay does when the key or the host is wrong.
public final class DeployTarget: Sendable {
    /// The target's name in gobay.yml, e.g. "web-1".
    public let name: String
    /// The directory that holds everything of this target.
    public let dir: String
    /// sshd's port on 127.0.0.1.
    public let sshPort: Int
    /// The user gobay logs in as.
    public let user = "root"
    /// The private key sshd accepts (the identity gobay uses).
    public let identityFile: String
    /// A known_hosts listing this sshd's host key for `[127.0.0.1]:PORT`.
    public let knownHosts: String
    /// A private key sshd does not accept.
    public let wrongIdentityFile: String
    /// A known_hosts listing a different host key for `[127.0.0.1]:PORT` (a changed host key).
    public let wrongKnownHosts: String
    /// An empty known_hosts (an unknown host).
    public let emptyKnownHosts: String
    /// Where releases go: `<dir>/srv/<program>`, with `releases/<id>/` and the `current` symlink.
    public let deployPath: String
    /// The supervisor program's name.
    public let program: String
    /// The binary's name inside a release; the program runs `<deployPath>/current/<binary>`.
    public let binary: String
    /// supervisord's config, for `supervisorctl -c`.
    public let supervisorConfig: String
    /// The port the program is told to listen on (its PORT variable).
    public let httpPort: Int
    /// `http://127.0.0.1:PORT` of the program.
    public var baseURL: String { "http://127.0.0.1:\(httpPort)" }

    /// The sshd process.
    public let sshd: ChildProcess
    /// The supervisord process.
    public let supervisord: ChildProcess
    /// An environment entry every process of this target carries (sshd sets it in sessions,
    /// supervisord passes it to the program), so `stop()` finds processes that left the groups.
    let marker: String
    private let stopped = Mutex(false)

    /// Makes the keys and configs in `dir` and starts sshd and supervisord for a program
    /// `program` whose binary is `binary` (by default the program's name); `sshdSettings` are
    /// more lines for sshd_config (e.g. `AllowStreamLocalForwarding no`).
    public init(name: String, dir: String, program: String = "app", binary: String? = nil, sshdSettings: [String] = [])
        throws
    {
        self.name = name
        self.dir = dir
        self.program = program
        self.binary = binary ?? program
        marker = "GOBAY_DEPLOY_TARGET=\(UUID().uuidString)"
        deployPath = dir + "/srv/" + program
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: deployPath + "/releases", withIntermediateDirectories: true)
        try fileManager.createDirectory(atPath: dir + "/supervisor", withIntermediateDirectories: true)
        let socket = dir + "/supervisor.sock"
        guard socket.utf8.count < 100 else {
            throw GobayError.failure(
                "deploy target \(name): \(socket) is too long for a unix socket; use a shorter TMPDIR")
        }

        let hostKey = try Self.makeKey(dir + "/ssh_host_ed25519_key", comment: "host-\(name)")
        let otherHostKey = try Self.makeKey(dir + "/other_host_ed25519_key", comment: "other-host-\(name)")
        identityFile = dir + "/id_ed25519"
        wrongIdentityFile = dir + "/wrong_id_ed25519"
        let clientKey = try Self.makeKey(identityFile, comment: "gobay-test-\(name)")
        _ = try Self.makeKey(wrongIdentityFile, comment: "stranger-\(name)")
        try (clientKey + "\n").write(toFile: dir + "/authorized_keys", atomically: true, encoding: .utf8)

        httpPort = try Self.freeLoopbackPort()
        supervisorConfig = dir + "/supervisord.conf"
        try Self.supervisorConfigText(
            dir: dir, socket: socket, program: program, command: deployPath + "/current/" + self.binary, port: httpPort
        ).write(toFile: supervisorConfig, atomically: true, encoding: .utf8)
        knownHosts = dir + "/known_hosts"
        wrongKnownHosts = dir + "/wrong_known_hosts"
        emptyKnownHosts = dir + "/empty_known_hosts"
        try "".write(toFile: emptyKnownHosts, atomically: true, encoding: .utf8)

        try Self.makePrivilegeSeparationDirectory()
        let environment = Self.environment(home: dir, marker: marker)
        (sshd, sshPort) = try Self.startSSHD(
            dir: dir, environment: environment, marker: marker, avoiding: httpPort, settings: sshdSettings)
        do {
            try "[127.0.0.1]:\(sshPort) \(hostKey)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)
            try "[127.0.0.1]:\(sshPort) \(otherHostKey)\n".write(
                toFile: wrongKnownHosts, atomically: true, encoding: .utf8)
            // supervisord logs this line once its socket listens (it writes the pidfile after opening it).
            (supervisord, _) = try LoopbackProcess.start(
                ProcessSpec(["/usr/bin/supervisord", "-n", "-c", supervisorConfig], environment: environment),
                logPrefix: dir + "/supervisord", what: "supervisord of deploy target \(name)", timeout: 20
            ) { $0.contains("supervisord started with pid") ? 0 : nil }
        } catch {
            sshd.signalGroup(SIGKILL)
            sshd.wait(timeout: 5)
            ProcessRunner.killProcesses(withEnvironmentEntry: marker)
            throw error
        }
    }

    /// Makes the target in `<sandbox>/targets/<name>`.
    public convenience init(
        name: String, sandbox: TestSandbox, program: String = "app", binary: String? = nil, sshdSettings: [String] = []
    ) throws {
        try self.init(
            name: name, dir: sandbox.path + "/targets/" + name, program: program, binary: binary, sshdSettings: sshdSettings)
    }

    deinit { stop() }

    /// Kills sshd, supervisord, the program and whatever sessions left running, and waits until
    /// none is left. Idempotent. No graceful SIGTERM: supervisord takes one to three seconds to
    /// shut down (it looks at signals on a one-second tick), and a target's state is thrown away.
    public func stop() {
        let first = stopped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        // The groups first, while the children are unreaped so their pids cannot name another group.
        for process in [sshd, supervisord] {
            process.signalGroup(SIGKILL)
            process.wait(timeout: 5)
        }
        // supervisord starts the program in a group of its own, and sshd each connection in a
        // session of its own: both carry the marker.
        ProcessRunner.killProcesses(withEnvironmentEntry: marker)
    }

    /// The pids of this target's living processes (sshd, sessions, supervisord, the program).
    public var livingProcesses: [pid_t] { ProcessRunner.processes(withEnvironmentEntry: marker) }

    /// The `user@host` to log in as.
    public var destination: String { "\(user)@127.0.0.1" }

    /// The options of ssh and scp for this target (no port: ssh takes `-p`, scp `-P`): the key
    /// only, strict host key checking against `knownHosts`, no user or system config.
    public func sshOptions(identity: String? = nil, knownHosts: String? = nil) -> [String] {
        [
            "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", "UserKnownHostsFile=\(knownHosts ?? self.knownHosts)", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=10", "-i", identity ?? identityFile,
        ]
    }

    /// Runs `argv` on the target over ssh with the system client; exit status 255 means ssh itself
    /// failed (refused key, host key mismatch). sshd runs the command through root's shell, so the
    /// words are quoted for it; still, pass only the test's own fixed strings.
    public func run(_ argv: [String], identity: String? = nil, knownHosts: String? = nil, timeout: TimeInterval = 30)
        throws -> (outcome: ProcessOutcome, stdout: String, stderr: String)
    {
        let remote = argv.map(Self.shellQuoted).joined(separator: " ")
        let arguments =
            ["/usr/bin/ssh"] + sshOptions(identity: identity, knownHosts: knownHosts)
            + ["-p", String(sshPort), destination, "--", remote]
        return try ProcessRunner.capture(
            ProcessSpec(arguments, environment: Self.clientEnvironment(home: dir)),
            deadline: Date().addingTimeInterval(timeout))
    }

    /// Copies the local file `local` to `remote` on the target with scp (which speaks SFTP since
    /// OpenSSH 9.0, so this needs sshd's sftp subsystem).
    public func copy(_ local: String, to remote: String, timeout: TimeInterval = 30) throws
        -> (outcome: ProcessOutcome, stdout: String, stderr: String)
    {
        let arguments =
            ["/usr/bin/scp", "-q"] + sshOptions() + ["-P", String(sshPort), local, "\(destination):\(remote)"]
        return try ProcessRunner.capture(
            ProcessSpec(arguments, environment: Self.clientEnvironment(home: dir)),
            deadline: Date().addingTimeInterval(timeout))
    }

    /// Runs `supervisorctl -c <supervisorConfig> args...` locally; returns what it printed.
    @discardableResult
    public func supervisorctl(_ args: [String], timeout: TimeInterval = 60) throws -> String {
        let result = try ProcessRunner.capture(
            ProcessSpec(
                ["/usr/bin/supervisorctl", "-c", supervisorConfig] + args,
                environment: Self.clientEnvironment(home: dir)),
            deadline: Date().addingTimeInterval(timeout))
        return result.stdout + result.stderr
    }

    /// GETs `path` from the program; nil when nothing answers.
    public func get(_ path: String, timeout: TimeInterval = 10) -> (status: Int, body: String)? {
        let reply = HTTPTestClient.send("GET", baseURL + path, timeout: timeout)
        return reply.status == 0 ? nil : (reply.status, reply.text)
    }

    /// Where `<deployPath>/current` points, or nil when it is not a symlink.
    public func currentTarget() -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: deployPath + "/current")
    }

    /// The directory of release `id`.
    public func releasePath(_ id: String) -> String { deployPath + "/releases/" + id }

    /// Puts a copy of the local binary `built` into release `id` and points `current` at it (a
    /// release that was there before gobay came); returns the release directory.
    @discardableResult
    public func installRelease(_ id: String, binary built: String) throws -> String {
        let release = releasePath(id)
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: release, withIntermediateDirectories: true)
        try? fileManager.removeItem(atPath: release + "/" + binary)
        try fileManager.copyItem(atPath: built, toPath: release + "/" + binary)
        try fileManager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: release + "/" + binary)
        let temporary = deployPath + "/.current-\(UUID().uuidString)"
        try fileManager.createSymbolicLink(atPath: temporary, withDestinationPath: release)
        guard rename(temporary, deployPath + "/current") == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw GobayError.failure("cannot point \(deployPath)/current at \(release): \(reason)")
        }
        return release
    }

    /// This target as one entry of a deploy's `targets:` list in gobay.yml, each line indented by
    /// `indent` spaces; a test makes a broken target by passing another key or known_hosts.
    public func targetYAML(
        indent: Int = 0, identityFile: String? = nil, knownHosts: String? = nil, healthPath: String = "/health",
        healthTimeout: String = "20s"
    ) -> String {
        Self.entryYAML(
            indent: indent, name: name, host: "127.0.0.1", port: sshPort, user: user,
            identityFile: identityFile ?? self.identityFile, knownHosts: knownHosts ?? self.knownHosts, path: deployPath,
            restart: "{ supervisor: \(program), config: \(supervisorConfig) }",
            health: "{ http: \"\(baseURL)\(healthPath)\", timeout: \(healthTimeout) }")
    }

    /// One entry of a deploy's `targets:` list for an SSH target, each line indented by `indent`
    /// spaces; `restart` and `health` are the flow mappings as written.
    static func entryYAML(
        indent: Int, name: String, host: String, port: Int, user: String, identityFile: String, knownHosts: String,
        path: String, restart: String, health: String
    ) -> String {
        let lines = [
            "- name: \(name)",
            "  host: \(host)",
            "  port: \(port)",
            "  user: \(user)",
            "  identity_file: \(identityFile)",
            "  known_hosts: \(knownHosts)",
            "  path: \(path)",
            "  restart: \(restart)",
            "  health: \(health)",
        ]
        let pad = String(repeating: " ", count: indent)
        return lines.map { pad + $0 }.joined(separator: "\n") + "\n"
    }
}

/// Setting a target up: keys, sshd, supervisord's config, ports.
extension DeployTarget {
    /// PATH and the marker, nothing else of the test's environment.
    static func environment(home: String, marker: String) -> [String: String] {
        var environment = clientEnvironment(home: home)
        let entry = marker.split(separator: "=", maxSplits: 1)
        environment[String(entry[0])] = String(entry[1])
        return environment
    }

    /// The environment of the ssh, scp and supervisorctl the tests run (no agent socket).
    static func clientEnvironment(home: String) -> [String: String] {
        ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": home, "LANG": "C.UTF-8"]
    }

    /// Makes an ed25519 key pair at `path` and `path.pub`; returns "ssh-ed25519 AAAA…".
    static func makeKey(_ path: String, comment: String) throws -> String {
        let result = try ProcessRunner.capture(
            ProcessSpec(
                ["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path],
                environment: clientEnvironment(home: (path as NSString).deletingLastPathComponent)),
            deadline: Date().addingTimeInterval(30))
        let publicKey = (try? String(contentsOfFile: path + ".pub", encoding: .utf8)) ?? ""
        let fields = publicKey.split(separator: " ")
        guard result.outcome.succeeded, fields.count >= 2 else {
            throw GobayError.failure("ssh-keygen could not make \(path): \(result.stderr)")
        }
        return fields[0] + " " + fields[1]
    }

    /// sshd refuses to start without its privilege separation directory (root-owned, not writable
    /// by others); Debian's package makes it only when its service starts.
    static func makePrivilegeSeparationDirectory() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: "/run/sshd", isDirectory: &isDirectory), isDirectory.boolValue {
            return
        }
        try FileManager.default.createDirectory(
            atPath: "/run/sshd", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    }

    /// Starts sshd on a free port; another process may take the port between the probe and
    /// sshd's bind, so "Address already in use" is tried again on a new port. `avoiding` is the
    /// program's port, free but not held.
    static func startSSHD(
        dir: String, environment: [String: String], marker: String, avoiding: Int, settings: [String]
    ) throws -> (ChildProcess, Int)
    {
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = try freeLoopbackPort()
            if port == avoiding { continue }
            try (sshdConfigText(dir: dir, port: port, marker: marker) + settings.map { $0 + "\n" }.joined())
                .write(toFile: dir + "/sshd_config", atomically: true, encoding: .utf8)
            do {
                // sshd prints this once it listens.
                return try LoopbackProcess.start(
                    ProcessSpec(["/usr/sbin/sshd", "-D", "-e", "-f", dir + "/sshd_config"], environment: environment),
                    logPrefix: dir + "/sshd", what: "sshd of the deploy target in \(dir)", timeout: 20
                ) { log in
                    guard let range = log.range(of: "Server listening on 127.0.0.1 port ") else { return nil }
                    return Int(log[range.upperBound...].prefix { $0.isNumber })
                }
            } catch {
                lastError = error
                let log = (try? String(contentsOfFile: dir + "/sshd.err", encoding: .utf8)) ?? ""
                if !log.contains("Address already in use") { throw error }
            }
        }
        throw lastError ?? GobayError.failure("sshd of the deploy target in \(dir) did not start")
    }

    /// Key-only root login on loopback, every path inside `dir`.
    static func sshdConfigText(dir: String, port: Int, marker: String) -> String {
        var lines = [
            "ListenAddress 127.0.0.1",
            "Port \(port)",
            "HostKey \(dir)/ssh_host_ed25519_key",
            "AuthorizedKeysFile \(dir)/authorized_keys",
            "PidFile \(dir)/sshd.pid",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "PermitRootLogin prohibit-password",
            "UsePAM no",
            // The test's files are not root's home; their modes do not matter here.
            "StrictModes no",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            // The default (10:30:100) drops connections at random once 10 are unauthenticated.
            "MaxStartups 100",
            "MaxSessions 100",
            "Subsystem sftp internal-sftp",
            // Sessions get a fresh environment; this lets stop() find what they left running.
            "SetEnv \(marker)",
        ]
        // From 9.8 on, sshd refuses a source for a while after failed logins; the wrong-key tests
        // would lock the right key out of 127.0.0.1.
        if sshdVersion >= (9, 8) { lines.append("PerSourcePenalties no") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// sshd's (major, minor) version, from `sshd -V` ("OpenSSH_9.2p1 …"); (0, 0) when unknown.
    static let sshdVersion: (Int, Int) = {
        guard
            let result = try? ProcessRunner.capture(
                ProcessSpec(["/usr/sbin/sshd", "-V"], environment: clientEnvironment(home: "/")),
                deadline: Date().addingTimeInterval(10)),
            let range = (result.stderr + result.stdout).range(of: "OpenSSH_")
        else { return (0, 0) }
        let numbers = (result.stderr + result.stdout)[range.upperBound...].prefix { $0.isNumber || $0 == "." }
            .split(separator: ".").compactMap { Int($0) }
        return numbers.count >= 2 ? (numbers[0], numbers[1]) : (0, 0)
    }()

    /// A supervisord of its own: socket, pidfile and logs in `dir`, one program not yet started.
    static func supervisorConfigText(dir: String, socket: String, program: String, command: String, port: Int)
        -> String
    {
        """
        [unix_http_server]
        file=\(socket)
        chmod=0700

        [supervisord]
        nodaemon=true
        user=root
        pidfile=\(dir)/supervisord.pid
        logfile=\(dir)/supervisord.log
        childlogdir=\(dir)/supervisor

        [rpcinterface:supervisor]
        supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

        [supervisorctl]
        serverurl=unix://\(socket)

        [program:\(program)]
        command=\(command)
        environment=PORT="\(port)"
        autostart=false
        autorestart=true
        startsecs=1
        startretries=2
        stopwaitsecs=5
        stopasgroup=true
        killasgroup=true
        stdout_logfile=\(dir)/\(program).out.log
        stderr_logfile=\(dir)/\(program).err.log

        """
    }

    /// A port on 127.0.0.1 that was free a moment ago (the kernel's pick for port 0).
    public static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw GobayError.failure("cannot make a socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let found = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard found else { throw GobayError.failure("cannot find a free port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// `word` in single quotes for a POSIX shell.
    static func shellQuoted(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

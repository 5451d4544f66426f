import Foundation
import GobayCore
import Synchronization

/// A deploy target for the systemd tests: a docker container of `image` (made offline by
/// scripts/install-deps) running real systemd as PID 1 and the image's OpenSSH sshd, which lets
/// root in with one ed25519 key only. Systemd knows one unit, `<unit>.service`, running
/// `<deployPath>/current/<binary>` on `httpPort` of every address, restarted on failure (so a
/// program that dies at start hits systemd's start limit, as it would on a real server).
/// Keys, configs and known_hosts live in the directory it is given; the container is removed by
/// `stop()`.
public final class SystemdTarget: Sendable {
    /// The target's name in gobay.yml, e.g. "web-1".
    public let name: String
    /// The directory that holds the keys and configs on this machine.
    public let dir: String
    /// The container's name.
    public let container: String
    /// The container's address on docker's bridge, where sshd listens on port 22.
    public let address: String
    /// The user gobay logs in as.
    public let user = "root"
    /// The private key sshd accepts (the identity gobay uses).
    public let identityFile: String
    /// A known_hosts listing the container's host key for its address.
    public let knownHosts: String
    /// Where releases go in the container.
    public let deployPath = "/srv/api"
    /// The systemd unit the service runs as.
    public let unit: String
    /// The binary's name inside a release.
    public let binary: String
    /// The port the service listens on, on every address of the container.
    public let httpPort = 8080
    /// `http://ADDRESS:PORT` of the service.
    public var baseURL: String { "http://\(address):\(httpPort)" }
    private let removed = Mutex(false)

    /// The image: GOBAY_TEST_SYSTEMD_IMAGE, else the one scripts/install-deps makes.
    public static var image: String {
        ProcessInfo.processInfo.environment["GOBAY_TEST_SYSTEMD_IMAGE"] ?? "gobay-systemd:bookworm"
    }

    /// What systemd as PID 1 needs from docker here: CAP_SYS_ADMIN (it mounts and makes cgroups)
    /// and a cgroup namespace of its own, where it mounts a writable cgroup2 hierarchy. Without
    /// either it exits at once. `--privileged` is no use: it asks for every capability, and runc
    /// fails ("unable to apply caps") where dockerd's bounding set lacks one (CAP_SYS_RESOURCE on
    /// the machines this was written on). systemd mounts a tmpfs on /run itself when there is
    /// none; the tmpfs mounts spare it that.
    static let runOptions = [
        "--cap-add", "SYS_ADMIN", "--cgroupns", "private", "--tmpfs", "/run", "--tmpfs", "/run/lock",
    ]

    /// Makes the keys and configs in `dir`, creates the container with them and waits until
    /// systemd has booted (`systemctl is-system-running` says running or degraded) for at most
    /// `bootTimeout` seconds; the container is removed again when anything fails.
    public init(name: String, dir: String, unit: String = "api", binary: String = "api", bootTimeout: TimeInterval = 60)
        throws
    {
        self.name = name
        self.dir = dir
        self.unit = unit
        self.binary = binary
        container = "gobay-systemd-\(name)-\(UUID().uuidString.prefix(8).lowercased())"
        identityFile = dir + "/id_ed25519"
        knownHosts = dir + "/known_hosts"
        let files = dir + "/container"
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        let hostKey = try DeployTarget.makeKey(files + "/gobay_host_ed25519_key", comment: "host-\(name)")
        let clientKey = try DeployTarget.makeKey(identityFile, comment: "gobay-test-\(name)")
        let copies = [
            (files + "/gobay_host_ed25519_key", "/etc/ssh/gobay_host_ed25519_key"),
            (try Self.write(clientKey + "\n", to: files + "/gobay_authorized_keys"), "/etc/ssh/gobay_authorized_keys"),
            (try Self.write(Self.sshdSettings, to: files + "/gobay.conf"), "/etc/ssh/sshd_config.d/gobay.conf"),
            (
                try Self.write(
                    Self.unitText(command: deployPath + "/current/" + binary, port: httpPort), to: files + "/unit"),
                "/etc/systemd/system/\(unit).service"
            ),
        ]
        try Self.docker(
            [
                "create", "--pull", "never", "--name", container, "--hostname", name, "--label",
                "gobay.test=systemd-target",
            ]
                + Self.runOptions
                + [Self.image, "/lib/systemd/systemd"])
        do {
            // Copied before the start, so sshd and systemd find them as they boot.
            for (local, remote) in copies { try Self.docker(["cp", local, "\(container):\(remote)"]) }
            try Self.docker(["start", container])
            try Self.waitForBoot(container, deadline: Date().addingTimeInterval(bootTimeout))
            address = try Self.docker(["inspect", "--format", "{{.NetworkSettings.IPAddress}}", container])
            guard !address.isEmpty else {
                throw GobayError.failure("container \(container) has no address on docker's bridge")
            }
            _ = try Self.write("\(address) \(hostKey)\n", to: knownHosts)
        } catch {
            _ = try? Self.docker(["rm", "--force", "--volumes", container])
            throw error
        }
    }

    /// Makes the target in `<sandbox>/targets/<name>`.
    public convenience init(name: String, sandbox: TestSandbox, unit: String = "api", binary: String = "api") throws {
        try self.init(name: name, dir: sandbox.path + "/targets/" + name, unit: unit, binary: binary)
    }

    deinit { stop() }

    /// Removes the container with everything running in it. Idempotent.
    public func stop() {
        let first = removed.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        _ = try? Self.docker(["rm", "--force", "--volumes", container])
    }

    /// Whether the container still exists, running or not.
    public var exists: Bool {
        let found = try? Self.docker(["ps", "--all", "--quiet", "--filter", "name=^\(container)$"])
        return found.map { !$0.isEmpty } ?? true
    }

    /// The pids (on this machine) of everything running in the container.
    public func processes() throws -> [pid_t] {
        try Self.docker(["top", container, "-o", "pid"]).split(separator: "\n").compactMap {
            pid_t($0.trimmingCharacters(in: .whitespaces))
        }
    }

    /// Runs `argv` in the container (`docker exec`, no shell) and returns what it did.
    public func run(_ argv: [String], timeout: TimeInterval = 30) throws
        -> (outcome: ProcessOutcome, stdout: String, stderr: String)
    {
        try ProcessRunner.capture(
            ProcessSpec(["docker", "exec", container] + argv, environment: Self.environment),
            deadline: Date().addingTimeInterval(timeout))
    }

    /// Where `<deployPath>/current` points, or nil when it is not a symlink.
    public func currentTarget() throws -> String? {
        let link = try run(["readlink", "--", deployPath + "/current"])
        return link.outcome.succeeded ? link.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    /// What `systemctl is-active` says of the unit: active, failed, inactive, …
    public func unitState() throws -> String {
        try run(["systemctl", "is-active", "--", unit]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits until `systemctl is-active` says `state` of the unit, for at most `timeout` seconds;
    /// returns whether it did. (Without D-Bus in the image, systemctl cannot wait for it itself.)
    public func waitForUnit(_ state: String, timeout: TimeInterval = 30) throws -> Bool {
        try Self.poll(until: Date().addingTimeInterval(timeout)) { try unitState() == state }
    }

    /// Checks `condition` every 50 ms until it holds (true) or `deadline` passes (false): for
    /// states systemd tells only when asked, as the image has no D-Bus to wait on.
    static func poll(until deadline: Date, _ condition: () throws -> Bool) throws -> Bool {
        while try !condition() {
            if Date() >= deadline { return false }
            usleep(50_000)
        }
        return true
    }

    /// GETs `path` from the service; nil when nothing answers.
    public func get(_ path: String, timeout: TimeInterval = 10) -> (status: Int, body: String)? {
        let reply = HTTPTestClient.send("GET", baseURL + path, timeout: timeout)
        return reply.status == 0 ? nil : (reply.status, reply.text)
    }

    /// This target as one entry of a deploy's `targets:` list in gobay.yml, each line indented by
    /// `indent` spaces; `unit` names another unit than the one the container has.
    public func targetYAML(indent: Int = 0, unit: String? = nil, healthTimeout: String = "20s") -> String {
        DeployTarget.entryYAML(
            indent: indent, name: name, host: address, port: 22, user: user, identityFile: identityFile,
            knownHosts: knownHosts, path: deployPath, restart: "{ systemd: \(unit ?? self.unit) }",
            health: "{ http: \"\(baseURL)/health\", timeout: \(healthTimeout) }")
    }
}

/// Setting a systemd target up: the container's files, docker, the boot.
extension SystemdTarget {
    /// sshd's settings, ahead of Debian's sshd_config (its Include comes first, and sshd takes
    /// the first value it reads): the test's host key and client key only. No PAM: without D-Bus
    /// there is no logind to open sessions with.
    static let sshdSettings = """
        HostKey /etc/ssh/gobay_host_ed25519_key
        AuthorizedKeysFile /etc/ssh/gobay_authorized_keys
        PermitRootLogin prohibit-password
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        PubkeyAuthentication yes
        UsePAM no
        UseDNS no
        MaxStartups 100
        MaxSessions 100

        """

    /// The service's unit: the program from `current`, listening on every address; restarted
    /// 100 ms after a failure, as units on servers often are.
    static func unitText(command: String, port: Int) -> String {
        """
        [Unit]
        Description=gobay test service

        [Service]
        ExecStart=\(command)
        Environment=PORT=\(port) LISTEN_HOST=0.0.0.0
        Restart=on-failure
        RestartSec=100ms

        """
    }

    /// PATH only, for docker.
    static let environment = [
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
    ]

    /// Runs `docker args...`; returns its trimmed stdout, or throws with its stderr when it fails.
    @discardableResult
    static func docker(_ args: [String], timeout: TimeInterval = 120) throws -> String {
        let result = try ProcessRunner.capture(
            ProcessSpec(["docker"] + args, environment: environment), deadline: Date().addingTimeInterval(timeout))
        guard result.outcome.succeeded else {
            let why = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            let fix = args.first == "create" ? " (scripts/install-deps makes \(image))" : ""
            throw GobayError.failure("docker \(args.first ?? "") failed: \(why)\(fix)")
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes `text` to `path`; returns the path.
    static func write(_ text: String, to path: String) throws -> String {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Waits for systemd to finish booting: `systemctl is-system-running` answers `initializing`
    /// or `starting` until it has, or fails while PID 1 has not opened its socket yet. (Its
    /// `--wait` would block until then, but needs D-Bus, which the image leaves out.) Boot takes
    /// well under a second here.
    static func waitForBoot(_ container: String, deadline: Date) throws {
        var last = ""
        _ = try poll(until: .distantFuture) {
            let state = try ProcessRunner.capture(
                ProcessSpec(["docker", "exec", container, "systemctl", "is-system-running"], environment: environment),
                deadline: deadline)
            let answer = state.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            if answer == "running" || answer == "degraded" { return true }
            last = [answer, state.stderr.trimmingCharacters(in: .whitespacesAndNewlines)].filter { !$0.isEmpty }
                .joined(separator: " ")
            let status = (try? docker(["inspect", "--format", "{{.State.Status}}", container])) ?? "gone"
            if status != "running" || Date() >= deadline {
                let logs =
                    (try? ProcessRunner.capture(
                        ProcessSpec(["docker", "logs", "--tail", "20", container], environment: environment),
                        deadline: Date().addingTimeInterval(10))).map { $0.stdout + $0.stderr } ?? ""
                throw GobayError.failure(
                    "systemd in container \(container) did not boot (container \(status)): \(last)",
                    hint: logs.isEmpty ? "docker run \(runOptions.joined(separator: " ")) must be allowed here" : logs)
            }
            return false
        }
    }
}

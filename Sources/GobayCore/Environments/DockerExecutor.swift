import Foundation

/// Runs commands with `docker exec` in the environment's one long-lived container
/// (`gobay-<env>`), created on first use: the environment (with its checkouts and out dirs)
/// mounted at /go, the toolchain at /usr/local/go (with `toolchain: mount`), and the git mirrors
/// read-only at their host path. Steps are argv with `-w` and `-e`, never a shell string. Killing a `docker exec`
/// client leaves its process running inside the container, so on cancel or timeout the executor
/// kills the step's processes itself (found by their `StepMarker`) and checks that none is left.
public struct DockerExecutor: Executor {
    let environment: Environment
    let dataDir: String

    public var kind: ExecutorKind { .docker }

    public func path(_ host: String) -> String { environment.isolatedPath(host) }

    /// The container's name: per data dir and environment, so two gobay instances on one docker
    /// host never share (or recreate) each other's containers.
    public var containerName: String { Self.containerName(environment: environment.name, dataDir: dataDir) }

    /// `gobay-<8 hex of the data dir>-<env>`.
    public static func containerName(environment: String, dataDir: String) -> String {
        let resolved = (dataDir as NSString).resolvingSymlinksInPath
        return "gobay-" + FileDigest.sha256(data: Data(resolved.utf8)).prefix(8) + "-" + environment
    }

    /// The name containers had before it included the data dir.
    var legacyContainerName: String { "gobay-" + environment.name }

    public func variables(mode: BuildMode?) -> [String: String] {
        var vars = environment.isolatedVariables(mode: mode)
        if environment.config.toolchainSource == .image {
            vars["PATH"] = "/usr/local/go/bin:/go/gopath/bin:/usr/local/bin:/usr/bin:/bin"
        }
        return vars
    }

    public func prepare() throws {
        try environment.prepare()
        try DockerContainer(executor: self).ensureRunning()
    }

    public func run(_ command: StepCommand, deadline: Date?, onOutput: (String) -> Void) async throws -> ProcessOutcome {
        let marker = StepMarker()
        let argv = execArguments(
            command.arguments, workingDirectory: command.workingDirectory, environment: marker.marking(command.environment),
            tty: false)
        let outcome = try await ProcessRunner.run(
            ProcessSpec(argv, environment: Docker.clientEnvironment), deadline: deadline, onOutput: onOutput)
        // A killed client leaves its processes running in the container, and a step may leave a
        // daemon behind when it succeeds; they are host processes too, and carry the marker.
        // `docker inspect` and the /proc sweeps block: off the cooperative pool.
        try await BlockingThread.run("gobay-docker-sweep") {
            marker.killLeftovers()
            killUnmarkedProcesses()
        }
        return outcome
    }

    /// Kills every process in the container that is neither its init (and `sleep infinity`) nor
    /// carries a step marker: a step's daemon that dropped its marker variable to outlive it.
    /// Every process gobay starts there (steps, `env exec`, `env shell`) carries one.
    func killUnmarkedProcesses() {
        guard let initPid = DockerEngine.containerPid(containerName),
            let namespace = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(initPid)/ns/pid")
        else { return }
        let needle = Array((StepMarker.variable + "=").utf8)
        ProcessRunner.sweep {
            var victims: [pid_t] = []
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = pid_t(entry), pid != initPid, !ProcessRunner.isZombie(pid),
                    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/ns/pid")) == namespace
                else { continue }
                if ProcessRunner.parent(of: pid) == initPid,
                    let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                    cmdline == Data("sleep\u{0}infinity\u{0}".utf8)
                {
                    continue
                }
                guard let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
                let entries = environ.split(separator: 0)
                // runc's init of another step's `docker exec` has not reached the step's environment yet.
                if entries.contains(where: { $0.starts(with: needle) || $0.starts(with: Array("_LIBCONTAINER_".utf8)) }) {
                    continue
                }
                victims.append(pid)
            }
            return victims
        }
    }

    public func interactive(_ arguments: [String], mode: BuildMode?, workingDirectory: String?, tty: Bool) throws -> ProcessSpec {
        try prepare()
        let argv = execArguments(
            arguments, workingDirectory: workingDirectory ?? environment.dir,
            environment: StepMarker().marking(variables(mode: mode)), tty: tty)
        return ProcessSpec(argv, environment: Docker.clientEnvironment)
    }

    private func execArguments(_ arguments: [String], workingDirectory: String, environment env: [String: String], tty: Bool)
        -> [String]
    {
        var argv = ["docker", "exec", "-i"]
        if tty { argv.append("-t") }
        argv += ["-w", environment.isolatedPath(workingDirectory)]
        for (key, value) in env.sorted(by: { $0.key < $1.key }) { argv += ["-e", "\(key)=\(value)"] }
        return argv + [containerName] + arguments
    }

    /// The uid:gid steps run as.
    var user: String {
        guard let configured = environment.config.user else { return "\(getuid()):\(getgid())" }
        return configured.contains(":") ? configured : "\(configured):\(configured)"
    }

    /// The configured user when it is not gobay's own; its directories are then handed over.
    public var stepUser: ProcessUser? {
        guard let parsed = ProcessUser.parse(user), parsed != .current else { return nil }
        return parsed
    }

    /// `docker run` arguments that create the container (without the name and labels).
    func createArguments() -> [String] {
        var argv = ["--init", "--network", environment.config.network, "--user", user]
        argv += ["-v", "\(environment.dir):\(Environment.isolatedRoot)"]
        if let cache = environment.config.gocache { argv += ["-v", "\(cache):\(Environment.isolatedRoot)/gocache"] }
        if environment.config.toolchainSource == .mount {
            argv += ["-v", "\(environment.toolchain.goroot):\(Environment.isolatedGoroot):ro"]
            for (host, target) in environment.gorootSymlinkMounts() { argv += ["-v", "\(host):\(target):ro"] }
        }
        // Only this environment's own directory (its checkouts and out dirs are inside it) and the
        // mirrors, read-only: never another environment's, the artifact store or the logs.
        let git = DataDirectory(dataDir).git
        argv += ["-v", "\(git):\(git):ro"]
        return argv
    }

    /// What the container was made from; a change means it must be made again.
    func configHash() -> String {
        let parts = [environment.config.image ?? "", environment.config.toolchainSource.rawValue] + createArguments()
        return String(FileDigest.sha256(data: Data(parts.joined(separator: "\u{0}").utf8)).prefix(16))
    }
}

import Foundation

/// One command a build step runs inside an environment.
public struct StepCommand: Sendable {
    /// The argument vector; argv[0] is found on the environment's PATH.
    public var arguments: [String]
    /// The directory it runs in, as a host path (executors map it into their view).
    public var workingDirectory: String
    /// The complete environment, as `Executor.variables(mode:)` gave it plus any additions.
    public var environment: [String: String]
    /// Host directories the command may write besides the environment (the work dir and the
    /// build's artifacts); isolated executors make only these writable.
    public var writable: [String]

    /// Creates a command.
    public init(
        _ arguments: [String], workingDirectory: String, environment: [String: String], writable: [String] = []
    ) {
        self.arguments = arguments
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.writable = writable
    }
}

/// Runs an environment's commands with some kind of isolation: a plain host process, a
/// bubblewrap sandbox, or `docker exec` into the environment's long-lived container. Builds and
/// `gobay env exec` behave the same under each; only the isolation differs. Every executor kills
/// a command's whole process tree on timeout or cancel and checks that nothing is left.
public protocol Executor: Sendable {
    /// Which kind this is.
    var kind: ExecutorKind { get }
    /// The user steps run as, when it is not gobay's own.
    var stepUser: ProcessUser? { get }
    /// The variables a go process sees, with paths as this executor shows them.
    func variables(mode: BuildMode?) -> [String: String]
    /// A host path as steps see it (a sandbox or container mounts the environment at /go).
    func path(_ host: String) -> String
    /// Makes the executor ready (e.g. creates or starts the container). Blocks: async callers run
    /// it through `BlockingThread`.
    func prepare() throws
    /// Runs `command`, streaming its output lines, until it ends, the deadline passes or the task
    /// is cancelled; then its whole process tree is gone.
    func run(_ command: StepCommand, deadline: Date?, onOutput: (String) -> Void) async throws -> ProcessOutcome
    /// A process spec that runs `arguments` attached to the terminal (for `env exec` and `env shell`).
    func interactive(_ arguments: [String], mode: BuildMode?, workingDirectory: String?, tty: Bool) throws -> ProcessSpec
}

extension Executor {
    /// Prepares the environment's directories and, when steps run as another user, hands the
    /// environment (and a configured build cache) to that user once.
    func prepareDirectories(_ environment: Environment) throws {
        try environment.prepare()
        guard let stepUser else { return }
        try Ownership.checkReachable(environment.dir, by: stepUser, what: "environment \"\(environment.name)\"")
        let owned = [environment.dir] + (environment.config.gocache.map { [$0] } ?? [])
        let foreign = owned.filter { Ownership.owner(of: $0) != stepUser }
        if !foreign.isEmpty { try Ownership.hand(foreign, to: stepUser) }
        // Only this environment's user may enter it: another environment's steps (another
        // user) can neither read nor write its GOPATH, caches, checkouts or out dirs.
        for dir in owned { _ = chmod(dir, 0o700) }
    }
}

/// Runs commands as plain processes on the host, each in its own process group.
public struct HostExecutor: Executor {
    let environment: Environment
    public let stepUser: ProcessUser?

    public var kind: ExecutorKind { .host }

    public func path(_ host: String) -> String { host }

    public func variables(mode: BuildMode?) -> [String: String] { environment.variables(mode: mode) }

    public func prepare() throws { try prepareDirectories(environment) }

    public func run(_ command: StepCommand, deadline: Date?, onOutput: (String) -> Void) async throws -> ProcessOutcome {
        var spec = ProcessSpec(command.arguments, environment: command.environment, workingDirectory: command.workingDirectory)
        spec.user = stepUser
        spec.noNewPrivileges = stepUser != nil
        return try await StepMarker().run(spec, deadline: deadline, onOutput: onOutput)
    }

    public func interactive(_ arguments: [String], mode: BuildMode?, workingDirectory: String?, tty: Bool) throws -> ProcessSpec {
        try prepare()
        var spec = ProcessSpec(arguments, environment: variables(mode: mode), workingDirectory: workingDirectory)
        spec.user = stepUser
        return spec
    }
}

extension Environment {
    /// The executor of this environment's kind.
    public func makeExecutor(dataDir: String) throws -> Executor {
        switch config.executor {
        case .host: return HostExecutor(environment: self, stepUser: try stepUser(dataDir: dataDir))
        case .sandbox: return SandboxExecutor(environment: self, dataDir: dataDir, stepUser: try stepUser(dataDir: dataDir))
        case .docker: return DockerExecutor(environment: self, dataDir: dataDir)
        }
    }

    /// The user host and sandbox steps run as, nil for gobay's own: `user:` when configured;
    /// else, when gobay is root, a dedicated unprivileged user per environment (`gobay-<env>`,
    /// created on first use) unless `allow_root_builds: true`.
    func stepUser(dataDir: String) throws -> ProcessUser? {
        if let configured = config.user {
            guard let user = ProcessUser.parse(configured) else {
                throw GobayError(
                    "environment \"\(name)\": user \"\(configured)\" does not exist",
                    hint: "create it (useradd --system \(configured)), or give uid:gid")
            }
            if user == .current { return nil }
            guard getuid() == 0 else {
                throw GobayError(
                    "environment \"\(name)\" runs steps as user \(configured), which needs gobay to run as root",
                    hint: "run gobay as root, or remove user: to run steps as gobay's own user")
            }
            return user
        }
        guard getuid() == 0, !config.allowRootBuilds else { return nil }
        return try ProcessUser.dedicated(Self.buildUserName(name), lockPath: DataDirectory(dataDir).useraddLock)
    }

    /// The dedicated build user of environment `name`: `gobay-<name>`, or a hash when the name is
    /// not a valid user name.
    static func buildUserName(_ name: String) -> String {
        if name.count <= 24, name.range(of: "^[a-z0-9_][a-z0-9_-]*$", options: .regularExpression) != nil {
            return "gobay-" + name
        }
        return "gobay-" + FileDigest.sha256(data: Data(name.utf8)).prefix(12)
    }

    /// Where the toolchain appears inside a sandbox or container.
    public static let isolatedGoroot = "/usr/local/go"
    /// Where the environment's directory appears inside a sandbox or container.
    public static let isolatedRoot = "/go"

    /// The variables a go process sees inside a sandbox or container, where the environment is
    /// mounted at /go and the toolchain at /usr/local/go (or the image's own Go).
    public func isolatedVariables(mode: BuildMode?) -> [String: String] {
        var vars = variables(mode: mode)
        let inside = EnvironmentDirectory(path: Self.isolatedRoot)
        vars["GOROOT"] = Self.isolatedGoroot
        vars["GOPATH"] = inside.gopath
        vars["GOMODCACHE"] = inside.gomodcache
        vars["GOCACHE"] = inside.gocache
        vars["HOME"] = inside.home
        vars["PATH"] = "\(Self.isolatedGoroot)/bin:\(inside.gopath)/bin:/usr/local/bin:/usr/bin:/bin"
        vars["TMPDIR"] = "/tmp"
        return vars
    }

    /// Maps a host path into the sandbox or container view: the environment's directory (and a
    /// shared build cache) move under /go; every other mounted path keeps its host path.
    public func isolatedPath(_ host: String) -> String {
        if host == dir || host.hasPrefix(dir + "/") { return Self.isolatedRoot + host.dropFirst(dir.count) }
        if let cache = config.gocache, host == cache || host.hasPrefix(cache + "/") {
            return EnvironmentDirectory(path: Self.isolatedRoot).gocache + host.dropFirst(cache.count)
        }
        return host
    }

    /// Bind mounts (host → inside) for the symlinks of a GOROOT that point outside it, as
    /// Debian's toolchains do (src → ../../share/go-1.19/src), so they resolve under /usr/local/go.
    func gorootSymlinkMounts() -> [(host: String, target: String)] {
        var mounts: [(String, String)] = []
        let fm = FileManager.default
        func scan(_ relative: String, depth: Int) {
            let hostDir = toolchain.goroot + relative
            for name in (try? fm.contentsOfDirectory(atPath: hostDir)) ?? [] {
                let host = hostDir + "/" + name
                if let link = try? fm.destinationOfSymbolicLink(atPath: host) {
                    let insideDir = Self.isolatedGoroot + relative
                    let target = link.hasPrefix("/") ? link : ((insideDir + "/" + link) as NSString).standardizingPath
                    let resolved = (host as NSString).resolvingSymlinksInPath
                    if !target.hasPrefix(Self.isolatedGoroot + "/") { mounts.append((resolved, target)) }
                } else if depth > 0, (try? fm.attributesOfItem(atPath: host)[.type] as? FileAttributeType) == .typeDirectory {
                    scan(relative + "/" + name, depth: depth - 1)
                }
            }
        }
        scan("", depth: 1)
        return mounts
    }
}

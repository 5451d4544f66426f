import Foundation

/// The resolved contents of gobay.yml.
public struct GobayConfig: Sendable {
    /// The config file this came from (absolute path).
    public var path: String
    /// Where gobay keeps toolchains, environments, mirrors, builds and its database.
    public var dataDir: String
    /// The go.dev-style site toolchains are downloaded from.
    public var toolchainMirror: String
    /// Environments in file order.
    public var environments: [EnvironmentConfig]
    /// Projects in file order.
    public var projects: [ProjectConfig]
    /// Shared libraries placed into the GOPATH of environments, in file order.
    public var libraries: [LibraryConfig]
    /// The `server:` section.
    public var server = ServerConfig()
    /// How long builds are kept (see `retention:`).
    public var retention = RetentionConfig()

    /// The environment named `name`, or a usage error listing the known ones.
    public func environment(_ name: String) throws -> EnvironmentConfig {
        if let env = environments.first(where: { $0.name == name }) { return env }
        throw GobayError(
            "unknown environment \"\(name)\"",
            hint: "environments in \(path): \(environments.map(\.name).joined(separator: ", "))", kind: .notFound)
    }

    /// The project named `name`, or a usage error listing the known ones.
    public func project(_ name: String) throws -> ProjectConfig {
        if let project = projects.first(where: { $0.name == name }) { return project }
        let known = projects.map(\.name).joined(separator: ", ")
        throw GobayError(
            "unknown project \"\(name)\"",
            hint: known.isEmpty ? "add it under projects: in \(path)" : "projects in \(path): \(known)", kind: .notFound)
    }
}

/// Which process isolation an environment runs its steps under.
public enum ExecutorKind: String, Sendable, CaseIterable {
    /// A plain process on the host.
    case host
    /// A bubblewrap sandbox.
    case sandbox
    /// One long-lived Docker container per environment.
    case docker
}

/// One Go version's environment: toolchain, GOPATH, caches and settings.
public struct EnvironmentConfig: Sendable {
    /// The environment's name, also its directory name.
    public var name: String
    /// The Go version asked for: "1.19" means the newest installed 1.19.x.
    public var go: GoVersion
    /// An existing GOROOT to use instead of an installed toolchain.
    public var goroot: String?
    /// How steps run.
    public var executor: ExecutorKind
    /// How many builds may run at once in this environment.
    public var concurrency: Int
    /// Extra variables for every go process, in file order.
    public var env: [(String, String)]
    /// A build cache directory to use instead of the environment's own (e.g. shared by tests).
    public var gocache: String?
    /// Docker: the image of the environment's container.
    public var image: String?
    /// Docker: use the image's own Go (`image`) or mount gobay's toolchain (`mount`).
    public var toolchainSource: ToolchainMount = .mount
    /// Network access: docker host/none/bridge; sandbox host (shared) or none.
    public var network: String = "host"
    /// The user steps run as (a name, uid or uid:gid). Docker: nil means gobay's own uid:gid.
    /// Host and sandbox: nil means a dedicated `gobay-<env>` user when gobay runs as root.
    public var user: String?
    /// Host and sandbox: keep root for steps when gobay runs as root (`config check` warns).
    public var allowRootBuilds = false

    /// Creates an environment config.
    public init(
        name: String, go: GoVersion, goroot: String? = nil, executor: ExecutorKind = .host, concurrency: Int = 2,
        env: [(String, String)] = [], gocache: String? = nil
    ) {
        self.name = name
        self.go = go
        self.goroot = goroot
        self.executor = executor
        self.concurrency = concurrency
        self.env = env
        self.gocache = gocache
    }
}

/// Where a docker environment's Go comes from.
public enum ToolchainMount: String, Sendable {
    /// The image's own Go at /usr/local/go.
    case image
    /// gobay's toolchain bind-mounted read-only at /usr/local/go.
    case mount
}

/// How a project is built: inside GOPATH or as a module.
public enum BuildMode: String, Sendable {
    /// GO111MODULE=off, checked out into GOPATH/src/<import_path>.
    case gopath
    /// GO111MODULE=on, checked out into a per-project work dir.
    case module
    /// module when the commit has a go.mod, else gopath.
    case auto
}

/// A GOOS/GOARCH pair to build for.
public struct BuildTarget: Sendable, Hashable {
    /// The GOOS value.
    public var goos: String
    /// The GOARCH value.
    public var goarch: String

    /// Creates a target.
    public init(goos: String, goarch: String) {
        self.goos = goos
        self.goarch = goarch
    }
}

/// A Go service gobay builds.
public struct ProjectConfig: Sendable {
    /// The project's name.
    public var name: String
    /// Any git URL or path.
    public var repo: String
    /// The branch built by default; nil means the repository's default branch.
    public var branch: String?
    /// The environment to build in; nil means chosen from go.mod.
    public var environment: String?
    /// GOPATH or module mode.
    public var mode: BuildMode
    /// In GOPATH mode the project lives at GOPATH/src/<import_path>.
    public var importPath: String?
    /// The package to build.
    public var package: String
    /// The binary name.
    public var output: String
    /// -ldflags with {commit} {short_commit} {ref} {build} {date} placeholders.
    public var ldflags: String?
    /// Targets to build; empty means the host's.
    public var targets: [BuildTarget]
    /// Whether `go test ./...` must pass before the build.
    public var test: Bool
    /// The whole build's time limit in seconds.
    public var timeout: TimeInterval
    /// The project's own webhook secret (wins over the server's); `.none` accepts hooks unverified.
    public var webhookSecret: SecretSource?
    /// Branch globs that pushes build; empty means the project's branch only.
    public var branches: [String] = []
    /// Whether tag pushes build.
    public var tags = false
    /// Whether waiting builds of one branch collapse into the newest.
    public var coalesce = true
    /// Where commit statuses go.
    public var status = StatusConfig()
    /// Go build tags (`-tags`) for list, generate, test and build; `tags:` is about git tags.
    public var buildTags: [String] = []
    /// Run `go generate ./...` before testing and building.
    public var generate = false
    /// Extra flags for `go test` (e.g. -race, -count=1), each one argument.
    public var testFlags: [String] = []
    /// This project's own retention keys, over the global ones.
    public var retention: RetentionConfig?
    /// Extra variables for this project's go processes, over the environment's `env:`; a value
    /// may come from gobay's own environment with `{env: NAME}`.
    public var env: [(String, SecretSource)] = []
}

/// A shared private library that GOPATH-mode projects import.
public struct LibraryConfig: Sendable {
    /// The library's name.
    public var name: String
    /// Any git URL or path.
    public var repo: String
    /// The branch placed into GOPATH; nil means the repository's default branch.
    public var branch: String?
    /// Where it lives under GOPATH/src.
    public var importPath: String
}

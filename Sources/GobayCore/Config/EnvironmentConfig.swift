import Foundation

/// One Go version's environment: toolchain, GOPATH, caches and settings.
public struct EnvironmentConfig: Sendable, Equatable {
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
    public var env: NamedValues<String>
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
        env: NamedValues<String> = [], gocache: String? = nil
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

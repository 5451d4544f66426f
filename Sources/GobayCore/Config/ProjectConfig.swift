import Foundation

/// A Go service gobay builds.
public struct ProjectConfig: Sendable, Equatable {
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
    /// Where the binary goes after a build (`deploy:`), if anywhere.
    public var deploy: DeployConfig?
    /// Extra variables for this project's go processes, over the environment's `env:`; a value
    /// may come from gobay's own environment with `{env: NAME}`.
    public var env: NamedValues<SecretSource> = []
}

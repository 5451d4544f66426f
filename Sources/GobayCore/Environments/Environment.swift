import Foundation

/// A Go version's environment on disk: `<data_dir>/envs/<name>/` with its own GOPATH,
/// module cache, build cache and HOME, and the toolchain it resolved to.
public struct Environment: Sendable {
    /// The config it came from.
    public let config: EnvironmentConfig
    /// The toolchain its go: resolved to.
    public let toolchain: Toolchain
    /// `<data_dir>/envs/<name>`.
    public let dir: String

    /// Creates the environment's view; call `prepare()` before running anything in it.
    public init(config: EnvironmentConfig, toolchain: Toolchain, dataDir: String) {
        self.config = config
        self.toolchain = toolchain
        self.dir = DataDirectory(dataDir).environment(config.name)
    }

    /// The environment's name.
    public var name: String { config.name }
    /// The directory's layout.
    public var layout: EnvironmentDirectory { EnvironmentDirectory(path: dir) }
    /// GOPATH, whose src every project on this version shares.
    public var gopath: String { layout.gopath }
    /// GOMODCACHE.
    public var gomodcache: String { layout.gomodcache }
    /// GOCACHE: the environment's own unless the config names another.
    public var gocache: String { config.gocache ?? layout.gocache }
    /// HOME for go processes.
    public var home: String { layout.home }
    /// Module-mode checkouts, one per project: inside the environment, so a step of another
    /// environment can never reach them.
    public var workRoot: String { layout.work }
    /// Where steps write binaries (`out/<project>/`, kept between builds); gobay copies them into
    /// the artifact store.
    public var outRoot: String { layout.out }

    /// The checkout of a module-mode project.
    public func workDir(project: String) -> String { workRoot + "/" + project }

    /// Creates the directory layout if it is missing.
    public func prepare() throws {
        for sub in [gopath + "/src", gopath + "/pkg", gopath + "/bin", gomodcache, gocache, home, workRoot, outRoot] {
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        }
    }

    /// The complete environment of every go process here; nothing is inherited from gobay's.
    public func variables(mode: BuildMode?) -> [String: String] {
        var vars: [String: String] = [
            "GOROOT": toolchain.goroot,
            "GOPATH": gopath,
            "GOMODCACHE": gomodcache,
            "GOCACHE": gocache,
            "HOME": home,
            "GOTOOLCHAIN": "local",
            // No go env file: `go env -w` in one project's test must not change the next build of another.
            "GOENV": "off",
            "GOFLAGS": "",
            "PATH": "\(toolchain.goroot)/bin:\(gopath)/bin:/usr/local/bin:/usr/bin:/bin",
            "TMPDIR": ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp",
            "LANG": "C.UTF-8",
        ]
        switch mode {
        case .gopath: vars["GO111MODULE"] = "off"
        case .module: vars["GO111MODULE"] = "on"
        case .auto, nil: break
        }
        for (key, value) in config.env { vars[key] = value }
        return vars
    }
}

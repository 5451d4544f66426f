import Foundation

/// One environment's directory, `envs/<env>/`: everything its go processes may write.
public struct EnvironmentDirectory: Sendable, Hashable {
    /// The directory.
    public let path: String

    /// The layout of the environment directory at `path` (on the host, or as mounted at /go).
    public init(path: String) { self.path = path }
    /// GOPATH, whose src every project on this version shares.
    public var gopath: String { path + "/gopath" }
    /// GOMODCACHE.
    public var gomodcache: String { path + "/gomodcache" }
    /// GOCACHE, unless the config names another.
    public var gocache: String { path + "/gocache" }
    /// HOME for go processes.
    public var home: String { path + "/home" }
    /// Module-mode checkouts, one per project.
    public var work: String { path + "/work" }
    /// Where steps write binaries, `out/<build id>/`.
    public var out: String { path + "/out" }
}

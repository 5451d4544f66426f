import Foundation

/// gobay's data dir on disk, the one place its layout is spelled out:
///
///     gobay.sqlite            build history and queue (plus -wal, -shm)
///     git/<name>-<hash>.git   bare mirrors, shared read-only by every environment
///     toolchains/             installed Go toolchains
///     envs/<env>/             one environment: gopath, gomodcache, gocache, home, work, out
///     builds/<id>/            a build's log and artifacts, reachable by gobay alone
///     objects/<ab>/<sha256>   every artifact once, by content; builds' artifacts are hard links
///     libraries/<name>/<sha>  one clean tree of a library commit, copied into each environment
///     trees/<project>/<sha>   the clean tree of a project's last commit, hard-linked into work dirs
///     deployments/<id>/log    a deployment's log
///     locks/                  cross-process locks: owners, GOPATH, slots, useradd, server
public struct DataDirectory: Sendable, Hashable {
    /// The data dir itself.
    public let root: String

    /// The data dir at `root` (as written in the config, already absolute).
    public init(_ root: String) { self.root = root }

    /// The SQLite database.
    public var database: String { root + "/gobay.sqlite" }
    /// The database and its WAL companions.
    public var databaseFiles: [String] { ["", "-wal", "-shm"].map { database + $0 } }
    /// Where the git mirrors live.
    public var git: String { root + "/git" }
    /// The mirror of a repository, named by `name` (from its URL) and `key` (a hash of the URL).
    public func mirror(name: String, key: String) -> String { git + "/\(name)-\(key).git" }
    /// Installed toolchains.
    public var toolchains: String { root + "/toolchains" }
    /// Every environment's directory.
    public var environments: String { root + "/envs" }
    /// One environment's directory.
    public func environment(_ name: String) -> String { environments + "/" + name }
    /// One environment's layout.
    public func environmentLayout(_ name: String) -> EnvironmentDirectory {
        EnvironmentDirectory(path: environment(name))
    }
    /// Every build's directory.
    public var builds: String { root + "/builds" }
    /// One build's directory: its log and artifacts.
    public func build(_ id: Int64) -> BuildDirectory { BuildDirectory(path: builds + "/\(id)") }
    /// The content-addressed artifact store: each distinct artifact once, named by its sha256,
    /// never rewritten; a build's `artifacts/<name>` is a hard link to its object.
    public var objects: String { root + "/objects" }
    /// What each kept build output looked like when its object was stored (`OutputStamp`).
    public var outputStamps: String { root + "/outputs" }
    /// Clean trees of library commits, copied from into each environment's GOPATH.
    public var libraries: String { root + "/libraries" }
    /// Clean trees of project commits, whose files a module-mode work dir hard-links when its
    /// steps run as a user who cannot write them.
    public var projectTrees: String { root + "/trees" }
    /// The trees of one project.
    public func projectTrees(_ project: String) -> String { projectTrees + "/" + project }
    /// The clean tree of one project commit.
    public func projectTree(_ project: String, commit: String) -> String { projectTrees(project) + "/" + commit }
    /// Held while a project's trees are made, linked from or dropped.
    public func projectTreesLock(_ project: String) -> String { projectTrees(project) + ".lock" }
    /// The trees of one library.
    public func libraryTrees(_ name: String) -> String { libraries + "/" + name }
    /// The clean tree of one library commit.
    public func libraryTree(_ name: String, commit: String) -> String { libraryTrees(name) + "/" + commit }
    /// Every deployment's directory.
    public var deployments: String { root + "/deployments" }
    /// A deployment's log.
    public func deploymentLog(_ id: Int64) -> String { deployments + "/\(id)/log" }
    /// Cross-process locks.
    public var locks: String { root + "/locks" }
    /// The lock one deployment of `project` to `target` holds: one at a time per target.
    public func deployLock(project: String, target: String) -> String { locks + "/deploy-\(project)--\(target).lock" }
    /// The lock one update of library `name` holds, in every environment at once.
    public func libraryLock(_ name: String) -> String { locks + "/library-\(name).lock" }
    /// The lock file of a process owner token.
    public func ownerLock(_ token: String) -> String { locks + "/owners/\(token).lock" }
    /// The lock the one `gobay serve` of this data dir holds.
    public var serverLock: String { locks + "/server.lock" }
    /// The lock around creating step users.
    public var useraddLock: String { locks + "/useradd.lock" }
    /// The lock around creating or replacing a docker environment's container.
    public func dockerLock(_ environment: String) -> String { locks + "/docker-\(environment).lock" }
    /// The shared checkout dir of gobay before 0.1 (removed on sight; checkouts now live in their environment).
    public var legacyWork: String { root + "/work" }
}

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
    /// The checkout of a shared library: `gopath/src/<import_path>`.
    public func library(importPath: String) -> String { gopath + "/src/" + importPath }
    /// Where steps write binaries, `out/<project>/`: the same path for every build of a project
    /// in this environment, so an unchanged program is not linked again.
    public var out: String { path + "/out" }
}

/// One build's directory, `builds/<id>/`: reachable by gobay alone.
public struct BuildDirectory: Sendable, Hashable {
    /// The directory.
    public let path: String

    /// The layout of the build directory at `path`.
    public init(path: String) { self.path = path }
    /// The build's log, one timestamped line per output line.
    public var log: String { path + "/log" }
    /// The artifact store: regular files gobay copied out of the environment.
    public var artifacts: String { path + "/artifacts" }
    /// The JUnit report of the build's tests, stored as an artifact.
    public var junit: String { artifacts + "/junit.xml" }
}

extension GobayConfig {
    /// The data dir's layout.
    public var data: DataDirectory { DataDirectory(dataDir) }
}

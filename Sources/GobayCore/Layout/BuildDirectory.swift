import Foundation

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

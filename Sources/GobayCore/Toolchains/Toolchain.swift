import Foundation

/// An installed or registered Go toolchain.
public struct Toolchain: Sendable, Codable, Equatable {
    /// The exact version, e.g. 1.22.10.
    public var version: String
    /// Its GOROOT.
    public var goroot: String
    /// "installed" when gobay unpacked it into its store, "added" when registered with --goroot,
    /// "config" when an environment's goroot: names it.
    public var source: String

    /// The parsed version.
    public var goVersion: GoVersion { GoVersion(version) ?? GoVersion(major: 0, minor: 0, patch: 0) }

    /// The `go` binary.
    public var goBinary: String { goroot + "/bin/go" }
}

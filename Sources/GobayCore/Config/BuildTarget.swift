import Foundation

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

import Foundation

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

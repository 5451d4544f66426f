import Foundation

/// The library push that queued a build (trigger `library`): which library, at which commit.
public struct LibraryCause: Sendable, Codable, Equatable {
    /// The library's name.
    public var library: String
    /// The library commit whose push queued the build.
    public var commit: String

    /// Creates a cause.
    public init(library: String, commit: String) {
        self.library = library
        self.commit = commit
    }
}

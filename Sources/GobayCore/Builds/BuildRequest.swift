import Foundation

/// What to build: a project at a ref or commit, optionally in a given environment.
public struct BuildRequest: Sendable {
    /// The project's name.
    public var project: String
    /// A branch, tag or full ref; nil means the project's branch.
    public var ref: String?
    /// A commit id; wins over `ref`.
    public var commit: String?
    /// An environment that overrides the project's choice.
    public var environment: String?

    /// Creates a request.
    public init(project: String, ref: String? = nil, commit: String? = nil, environment: String? = nil) {
        self.project = project
        self.ref = ref
        self.commit = commit
        self.environment = environment
    }
}

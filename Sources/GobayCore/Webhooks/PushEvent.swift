/// A push to one branch or tag, in the same shape whichever forge sent it.
public struct PushEvent: Sendable, Equatable {
    /// Whether the ref is a tag (`refs/tags/...`).
    public var isTag: Bool
    /// The full ref, such as `refs/heads/main` or `refs/tags/v1.0.0`.
    public var ref: String
    /// The short name, such as `main` or `v1.0.0`. Untrusted input: validate it before use.
    public var name: String
    /// The commit the ref pointed to before the push; forty zeros for a new ref.
    public var before: String
    /// The commit to build: for a tag the commit it points to when the payload says so, else `after`.
    public var after: String
    /// Whether the push deleted the ref.
    public var deleted: Bool
    /// Every URL of the repository in the payload, deduplicated, in payload order.
    public var repositoryURLs: [String]
    /// Who pushed, when the payload says.
    public var pusher: String?

    /// Creates a push event from its parts.
    public init(
        isTag: Bool, ref: String, name: String, before: String, after: String, deleted: Bool,
        repositoryURLs: [String], pusher: String?
    ) {
        self.isTag = isTag
        self.ref = ref
        self.name = name
        self.before = before
        self.after = after
        self.deleted = deleted
        self.repositoryURLs = repositoryURLs
        self.pusher = pusher
    }

    /// The commit id git uses for "no commit": a created ref's `before`, a deleted ref's `after`.
    public static let zeroCommit = String(repeating: "0", count: 40)
}

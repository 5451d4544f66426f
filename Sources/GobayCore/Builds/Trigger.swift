/// What started a build.
public enum Trigger: String, Sendable, Codable, CaseIterable {
    /// `gobay build`.
    case cli
    /// `POST /api/v1/projects/{name}/builds`.
    case api
    /// A push delivered to `/hooks/...`.
    case webhook
    /// The server ran again a build a previous process left interrupted.
    case retry
    /// A push to a shared library queued it (its dependents rebuild).
    case library
}

/// The git forges whose webhooks gobay understands.
public enum WebhookSender: String, Sendable, CaseIterable, Codable {
    /// GitLab (gitlab.com or self-managed): a plain-text token in `X-Gitlab-Token`.
    case gitlab
    /// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`.
    case github
    /// Gitea: `X-Gitea-Signature: <hex HMAC-SHA256>`, plus the GitHub-style header.
    case gitea
    /// Gogs: `X-Gogs-Signature: <hex HMAC-SHA256>`.
    case gogs

    /// The lowercased header that names the event, such as `x-gitlab-event`.
    public var eventHeader: String {
        switch self {
        case .gitlab: return "x-gitlab-event"
        case .github: return "x-github-event"
        case .gitea: return "x-gitea-event"
        case .gogs: return "x-gogs-event"
        }
    }
}

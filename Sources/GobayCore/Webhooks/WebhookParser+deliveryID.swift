import Foundation

extension WebhookParser {
    /// The id the forge gives this delivery, the same across retries where the forge allows, for deduplication.
    ///
    /// GitLab: `Idempotency-Key` (kept across retries), else `X-Gitlab-Event-UUID`. GitHub, Gitea and Gogs:
    /// their `X-GitHub-Delivery`, `X-Gitea-Delivery` or `X-Gogs-Delivery` header. Any sender:
    /// `Idempotency-Key` when nothing else is there.
    public static func deliveryID(sender: WebhookSender, headers: [String: String]) -> String? {
        let names: [String]
        switch sender {
        case .gitlab: names = ["idempotency-key", "x-gitlab-event-uuid"]
        case .github: names = ["x-github-delivery", "idempotency-key"]
        case .gitea: names = ["x-gitea-delivery", "idempotency-key"]
        case .gogs: names = ["x-gogs-delivery", "idempotency-key"]
        }
        for name in names {
            if let value = headers[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty {
                return value
            }
        }
        return nil
    }
}

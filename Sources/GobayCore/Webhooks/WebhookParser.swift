import Foundation

/// Turns a webhook request (lowercased headers and raw body) into a `WebhookEvent`.
///
/// Parsing trusts nothing: branch names in the result are data and must be validated before use
/// (`GitRef.validate`), and commit ids have already been checked to be hex.
public enum WebhookParser {
    /// Parses a request from `sender`; throws a `GobayError` for a body or headers no forge would send.
    public static func parse(sender: WebhookSender, headers: [String: String], body: Data) throws -> WebhookEvent {
        guard let rawEvent = headers[sender.eventHeader] else {
            throw GobayError(
                "\(sender.rawValue) webhook has no \(displayName(sender.eventHeader)) header",
                hint: "every \(sender.rawValue) webhook has this header; check which forge the URL is for")
        }
        let event = rawEvent.trimmingCharacters(in: .whitespaces)
        if let reason = ignoredReason(sender: sender, event: event) { return .ignored(reason) }
        let payload = try jsonObject(sender: sender, body: body)
        let tagEvent = sender == .gitlab && event.caseInsensitiveCompare("Tag Push Hook") == .orderedSame
        return try PushPayload(sender: sender, payload: payload).event(tagEvent: tagEvent)
    }

    /// Why `event` is not a push gobay acts on, or nil when it is one.
    static func ignoredReason(sender: WebhookSender, event: String) -> String? {
        let pushEvents: [String]
        switch sender {
        case .gitlab: pushEvents = ["Push Hook", "Tag Push Hook"]
        case .github, .gitea, .gogs: pushEvents = ["push"]
        }
        if pushEvents.contains(where: { $0.caseInsensitiveCompare(event) == .orderedSame }) { return nil }
        if sender == .github && event == "ping" {
            return "event \"ping\" needs no build: the webhook reached gobay"
        }
        if (sender == .gitea || sender == .gogs) && (event == "create" || event == "delete") {
            // Both forges also send a push event for the same ref; acting on both would build twice.
            return "event \"\(event)\" is not handled: \(sender.rawValue) sends a push event for the same ref"
        }
        return "event \"\(event)\" is not handled"
    }

    /// The body as a JSON object, or a `GobayError` that says what it is instead.
    static func jsonObject(sender: WebhookSender, body: Data) throws -> [String: Any] {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
        } catch {
            throw GobayError(
                "\(sender.rawValue) webhook body is not valid JSON (\(body.count) bytes)",
                hint: "set the webhook's content type to application/json")
        }
        guard let object = value as? [String: Any] else {
            throw GobayError(
                "\(sender.rawValue) webhook body is JSON but not an object",
                hint: "a push webhook sends one JSON object; check the webhook's URL and event type")
        }
        return object
    }

    /// `x-gitlab-event` as the forge spells it in its docs, `X-Gitlab-Event`.
    static func displayName(_ header: String) -> String {
        header.split(separator: "-").map { part in
            part == "github" ? "GitHub" : part.prefix(1).uppercased() + part.dropFirst()
        }.joined(separator: "-")
    }
}

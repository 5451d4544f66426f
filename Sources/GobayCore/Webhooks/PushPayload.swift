import Foundation

/// The fields of one forge's push payload that gobay reads, pulled out of the decoded JSON.
struct PushPayload {
    /// Which forge sent the payload; the fields differ a little between them.
    let sender: WebhookSender
    /// The decoded JSON object.
    let payload: [String: Any]

    /// The push this payload describes, or `.ignored` for a ref that is neither a branch nor a tag.
    func event(tagEvent: Bool) throws -> WebhookEvent {
        let rawRef = try requiredString("ref")
        let after = try commitID("after", required: true) ?? PushEvent.zeroCommit
        let before = try commitID("before", required: false) ?? ""
        let ref: String
        if rawRef.hasPrefix("refs/") {
            ref = rawRef
        } else {
            ref = (tagEvent ? "refs/tags/" : "refs/heads/") + rawRef
        }
        let isTag: Bool
        let name: String
        if ref.hasPrefix("refs/tags/") {
            isTag = true
            name = String(ref.dropFirst("refs/tags/".count))
        } else if ref.hasPrefix("refs/heads/") {
            isTag = false
            name = String(ref.dropFirst("refs/heads/".count))
        } else {
            return .ignored("ref \"\(ref)\" is neither a branch nor a tag")
        }
        guard !name.isEmpty else { throw malformed("field \"ref\" (\"\(ref)\") names no branch or tag") }
        let deleted = after == PushEvent.zeroCommit || payload["deleted"] as? Bool == true
        var target = after
        if isTag && !deleted, let commit = try taggedCommit() {
            target = commit
        }
        return .push(
            PushEvent(
                isTag: isTag, ref: ref, name: name, before: before, after: target, deleted: deleted,
                repositoryURLs: repositoryURLs(), pusher: pusher()))
    }

    /// The commit a tag points to: GitLab's `checkout_sha` (null for a deleted ref), else `head_commit.id`.
    func taggedCommit() throws -> String? {
        let candidate: Any?
        switch sender {
        case .gitlab: candidate = payload["checkout_sha"]
        case .github, .gitea, .gogs: candidate = (payload["head_commit"] as? [String: Any])?["id"]
        }
        guard let text = candidate as? String, !text.isEmpty, text != PushEvent.zeroCommit else { return nil }
        guard Self.isFullCommitID(text) else { throw malformed("the tagged commit \"\(text)\" is not a commit id") }
        return text
    }

    /// Every repository URL in the payload, in payload order, without empties or repeats.
    func repositoryURLs() -> [String] {
        var candidates: [Any?] = []
        let repository = payload["repository"] as? [String: Any] ?? [:]
        switch sender {
        case .gitlab:
            let project = payload["project"] as? [String: Any] ?? [:]
            for key in ["git_ssh_url", "git_http_url", "web_url", "url", "ssh_url", "http_url", "homepage"] {
                candidates.append(project[key])
            }
            for key in ["url", "homepage", "git_http_url", "git_ssh_url"] {
                candidates.append(repository[key])
            }
        case .github, .gitea, .gogs:
            for key in ["clone_url", "ssh_url", "html_url", "git_url", "url"] {
                candidates.append(repository[key])
            }
        }
        var seen = Set<String>()
        var urls: [String] = []
        for case let url as String in candidates {
            let trimmed = url.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty && seen.insert(trimmed).inserted { urls.append(trimmed) }
        }
        return urls
    }

    /// Who pushed: GitLab's username, or the pusher's login, username or name.
    func pusher() -> String? {
        let candidates: [Any?]
        switch sender {
        case .gitlab:
            candidates = [payload["user_username"], payload["user_name"]]
        case .github, .gitea, .gogs:
            let pusher = payload["pusher"] as? [String: Any] ?? [:]
            candidates = [pusher["login"], pusher["username"], pusher["name"]]
        }
        for case let name as String in candidates where !name.isEmpty {
            return name
        }
        return nil
    }

    /// A string field that must be present and non-empty.
    func requiredString(_ key: String) throws -> String {
        guard let value = payload[key], !(value is NSNull) else { throw malformed("it has no \"\(key)\" field") }
        guard let text = value as? String, !text.isEmpty else { throw malformed("field \"\(key)\" is not a string") }
        return text
    }

    /// A commit-id field, checked to be 40 or 64 hex digits so that it can never be read as an option.
    func commitID(_ key: String, required: Bool) throws -> String? {
        if !required, payload[key] == nil || payload[key] is NSNull { return nil }
        let text = try requiredString(key)
        guard Self.isFullCommitID(text) else { throw malformed("field \"\(key)\" (\"\(text)\") is not a commit id") }
        return text
    }

    /// Whether `text` is a full SHA-1 or SHA-256 commit id in lowercase hex.
    static func isFullCommitID(_ text: String) -> Bool {
        (text.utf8.count == 40 || text.utf8.count == 64) && GitRef.isCommitID(text)
    }

    /// A usage error for a push payload that lacks what every push carries.
    func malformed(_ problem: String) -> GobayError {
        GobayError(
            "\(sender.rawValue) push payload is malformed: \(problem)",
            hint: "a push event carries \"ref\", \"before\" and \"after\"; check that the webhook sends push events")
    }
}

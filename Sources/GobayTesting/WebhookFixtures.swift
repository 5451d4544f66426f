import Foundation
import GobayCore

/// The real webhook bodies in ../shared/fixtures/webhooks, read unchanged, and copies of them
/// rewritten to point at a test's own repository and commit.
public enum WebhookFixtures {
    /// The fixtures directory beside the repository (CI lays shared/ beside its clone too).
    public static func directory(filePath: String = #filePath) -> String {
        var root = (filePath as NSString).deletingLastPathComponent
        while root != "/" && !FileManager.default.fileExists(atPath: root + "/Package.swift") {
            root = (root as NSString).deletingLastPathComponent
        }
        return ((root + "/../shared/fixtures/webhooks") as NSString).standardizingPath
    }

    /// The bytes of a fixture, exactly as stored.
    public static func data(_ name: String) throws -> Data {
        let path = directory() + "/" + name
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GobayError.failure("fixture \(path) is missing")
        }
        return data
    }

    /// A push fixture rewritten so every repository URL is `repo`, the full ref is `ref` and the
    /// pushed commit is `after` (forty zeros: a deleted branch).
    public static func push(_ fixture: String, repo: String, ref: String, after: String) throws -> Data {
        guard var object = try JSONSerialization.jsonObject(with: try data(fixture)) as? [String: Any] else {
            throw GobayError.failure("\(fixture) is not an object")
        }
        let deleted = after == PushEvent.zeroCommit
        object["ref"] = ref
        object["after"] = after
        if fixture.hasPrefix("gitlab") {
            object["checkout_sha"] = deleted ? NSNull() as Any : after as Any
        } else if deleted {
            object["deleted"] = true
        }
        for key in ["project", "repository"] {
            guard var section = object[key] as? [String: Any] else { continue }
            for field in [
                "git_ssh_url", "git_http_url", "url", "ssh_url", "http_url", "web_url", "homepage", "clone_url",
                "html_url", "git_url",
            ] where section[field] != nil {
                section[field] = repo
            }
            object[key] = section
        }
        if var head = object["head_commit"] as? [String: Any] {
            head["id"] = after
            object["head_commit"] = head
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// gitlab-push.json rewritten for `repo`, `branch` and `commit`.
    public static func gitlabPush(repo: String, branch: String, commit: String) throws -> Data {
        try push("gitlab-push.json", repo: repo, ref: "refs/heads/" + branch, after: commit)
    }
}

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

    /// gitlab-push.json rewritten so every repository URL is `repo`, the ref is `branch` and the
    /// pushed commit is `commit`.
    public static func gitlabPush(repo: String, branch: String, commit: String, before: String? = nil) throws -> Data {
        guard var object = try JSONSerialization.jsonObject(with: try data("gitlab-push.json")) as? [String: Any] else {
            throw GobayError.failure("gitlab-push.json is not an object")
        }
        object["ref"] = "refs/heads/" + branch
        object["after"] = commit
        object["checkout_sha"] = commit
        if let before { object["before"] = before }
        for key in ["project", "repository"] {
            guard var section = object[key] as? [String: Any] else { continue }
            for field in ["git_ssh_url", "git_http_url", "url", "ssh_url", "http_url", "web_url", "homepage"]
            where section[field] != nil {
                section[field] = repo
            }
            object[key] = section
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }
}

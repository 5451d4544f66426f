import Foundation
import GobayCore
import GobayTesting
import Testing

/// A delivery with 1,000 projects configured normalises only its own URLs: the projects' are
/// normalised once, when the config is loaded.
@Suite("webhooks: repository lookup independent of the number of projects", .serialized)
struct RepositoryIndexTests {
    @Test func aDeliveryNormalisesOnlyItsOwnURLs() async throws {
        let sandbox = try TestSandbox("repo-index")
        let repo = try GitFixture(path: sandbox.path + "/svc-500", branch: "main", files: ["main.go": "package main\n"])
        var yaml = """
            data_dir: \(sandbox.path)/data
            environments:
              go122: { go: "1.22", goroot: /nonexistent }
            server: { webhook_secret: hook-secret, quiet_period: 1h }
            projects:

            """
        for n in 0..<1000 {
            let path = n == 500 ? repo.path : "https://gitlab.example.com/team/svc-\(n).git"
            yaml += "  svc-\(n): { repo: \"\(path)\", environment: go122, branch: main }\n"
        }
        let server = try InProcessServer(configText: yaml, path: sandbox.path + "/gobay.yml", hash: "test")
        let body = try WebhookFixtures.gitlabPush(repo: repo.path, branch: "main", commit: try repo.head())
        let urls = (try JSONSerialization.jsonObject(with: body) as? [String: Any]).map { Self.strings($0) } ?? []
        let counter = RepositoryURL.Counter()
        try await RepositoryURL.$counter.withValue(counter) {
            try await server.test { client in
                let reply = try await client.send(
                    "POST", "/hooks/gitlab",
                    headers: ["X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "hook-secret", "X-Gitlab-Event-UUID": "d-1"],
                    body: body)
                #expect(reply.status == 202, "\(reply.text)")
                let queued = (reply.json?["queued"] as? [[String: Any]])?.compactMap { $0["project"] as? String }
                #expect(queued == ["svc-500"])
            }
        }
        // The payload's own URLs (looked up for projects and for libraries), never the 1,000 projects'.
        #expect(counter.value >= 1 && counter.value <= 2 * urls.count, "\(counter.value) normalisations for one delivery")
    }

    /// A redelivery is answered from the stored answer, checked against the secret that verified
    /// the first delivery, before any parsing or matching; a wrong secret gets nothing.
    @Test func aRedeliveryDoesNoMatching() async throws {
        let sandbox = try TestSandbox("redelivery")
        let repo = try GitFixture(path: sandbox.path + "/api", branch: "main", files: ["main.go": "package main\n"])
        let yaml = """
            data_dir: \(sandbox.path)/data
            environments:
              go122: { go: "1.22", goroot: /nonexistent }
            server: { webhook_secret: global-secret, quiet_period: 1h }
            projects:
              api: { repo: "\(repo.path)", environment: go122, branch: main, webhook_secret: api-secret }
              other: { repo: "https://gitlab.example.com/team/other.git", environment: go122 }
            """
        let server = try InProcessServer(configText: yaml, path: sandbox.path + "/gobay.yml", hash: "test")
        let body = try WebhookFixtures.gitlabPush(repo: repo.path, branch: "main", commit: try repo.head())
        @Sendable func headers(_ token: String) -> [String: String] {
            ["X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": token, "X-Gitlab-Event-UUID": "same-id"]
        }
        try await server.test { client in
            let first = try await client.send("POST", "/hooks/gitlab", headers: headers("api-secret"), body: body)
            #expect(first.status == 202 && (first.json?["queued"] as? [Any])?.count == 1, "\(first.text)")
            let counter = RepositoryURL.Counter()
            let again = try await RepositoryURL.$counter.withValue(counter) {
                try await client.send("POST", "/hooks/gitlab", headers: headers("api-secret"), body: body)
            }
            #expect(again.status == 202 && again.text == first.text)
            #expect(again.headers["x-gobay-redelivery"] == "true")
            #expect(counter.value == 0, "a redelivery matched repositories")
            let forged = try await client.send("POST", "/hooks/gitlab", headers: headers("wrong"), body: body)
            #expect(forged.status == 401, "\(forged.text)")
            let builds = try await client.send("GET", "/api/v1/builds?status=queued")
            #expect(builds.status == 401 || (builds.jsonArray?.count ?? 0) <= 1)
        }
        #expect(try await server.database.queueDepth() == 1)
    }

    /// Every string value in a JSON object, nested or not: the most URLs a payload can carry.
    static func strings(_ value: Any) -> [String] {
        switch value {
        case let text as String: return [text]
        case let object as [String: Any]: return object.values.flatMap(strings)
        case let array as [Any]: return array.flatMap(strings)
        default: return []
        }
    }
}

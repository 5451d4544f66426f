import Foundation
import GobayCore
import GobayTesting
import Testing

/// In process: verification, planning and refusals are the webhook controller's.
@Suite("server: bad webhooks get the documented status and change nothing")
struct WebhookBadInputTests {
    /// How each sender signs and names its event.
    struct Sender: Sendable {
        var name: String
        var fixture: String
        var eventHeader: String
        var pushEvent: String
        var otherEvent: String
        var sign: @Sendable (Data, String) -> [String: String]
    }

    static let senders: [Sender] = [
        Sender(name: "gitlab", fixture: "gitlab-push.json", eventHeader: "X-Gitlab-Event", pushEvent: "Push Hook",
               otherEvent: "Wiki Page Hook", sign: { _, secret in ["X-Gitlab-Token": secret] }),
        Sender(name: "github", fixture: "github-push.json", eventHeader: "X-GitHub-Event", pushEvent: "push",
               otherEvent: "issues", sign: { body, secret in
                   ["X-Hub-Signature-256": "sha256=" + WebhookVerifier.hexHMACSHA256(secret: secret, body: body)] }),
        Sender(name: "gitea", fixture: "gitea-push.json", eventHeader: "X-Gitea-Event", pushEvent: "push",
               otherEvent: "issues", sign: { body, secret in
                   ["X-Gitea-Signature": WebhookVerifier.hexHMACSHA256(secret: secret, body: body)] }),
        Sender(name: "gogs", fixture: "gogs-push.json", eventHeader: "X-Gogs-Event", pushEvent: "push",
               otherEvent: "issues", sign: { body, secret in
                   ["X-Gogs-Signature": WebhookVerifier.hexHMACSHA256(secret: secret, body: body)] }),
    ]

    func payload(_ sender: Sender, repo: String, ref: String, after: String) throws -> Data {
        try WebhookFixtures.push(sender.fixture, repo: repo, ref: ref, after: after)
    }

    @Test func badInputTable() async throws {
        let sw = try ServerWorld(label: "badhook")
        let marker = "/tmp/gobay-hostile-\(UUID().uuidString.prefix(8))"
        let commit = try sw.world.modern.head()
        let secret = "global-secret"
        let server = try sw.inProcess()
        try await server.test { client in
            var failures: [String] = []
            for sender in Self.senders {
                let fixture = try WebhookFixtures.data(sender.fixture)
                let good = try payload(sender, repo: sw.world.modern.path, ref: "refs/heads/main", after: commit)
                let deleted = try payload(sender, repo: sw.world.modern.path, ref: "refs/heads/main", after: PushEvent.zeroCommit)
                let hostile = try payload(sender, repo: sw.world.modern.path, ref: "refs/heads/$(touch \(marker))", after: commit)
                let truncated = good.prefix(good.count / 2)
                let cases: [(String, Data, [String: String], Int, String?)] = [
                    ("bad signature", good, sender.sign(good, "wrong-secret"), 401, "signature or token"),
                    ("missing token", good, [:], 401, "signature or token"),
                    ("truncated body", truncated, sender.sign(truncated, secret), 400, "not a valid"),
                    ("oversized body", Data(repeating: 0x7b, count: 70 * 1024), sender.sign(Data(), secret), 413, "larger than"),
                    ("non-JSON body", Data("hello=world".utf8), sender.sign(Data("hello=world".utf8), secret), 400, "not a valid"),
                    ("unknown event", fixture, sender.sign(fixture, secret), 202, nil),
                    ("deleted branch", deleted, sender.sign(deleted, secret), 202, "deleted"),
                    ("hostile ref", hostile, sender.sign(hostile, "project-secret"), 202, "not a valid git ref"),
                ]
                for (label, body, auth, expected, text) in cases {
                    var headers = auth
                    headers[sender.eventHeader] = label == "unknown event" ? sender.otherEvent : sender.pushEvent
                    headers["Content-Type"] = "application/json"
                    let reply = try await client.send("POST", "/hooks/\(sender.name)", headers: headers, body: body)
                    if reply.status != expected { failures.append("\(sender.name) \(label): \(reply.status) \(reply.text)") }
                    if let text, !reply.text.contains(text) { failures.append("\(sender.name) \(label): body \(reply.text)") }
                    if expected == 202 && !((reply.json?["queued"] as? [Any])?.isEmpty ?? false) {
                        failures.append("\(sender.name) \(label): queued something: \(reply.text)")
                    }
                    if expected >= 400 && reply.json?["error"] == nil {
                        failures.append("\(sender.name) \(label): error is not JSON: \(reply.text)")
                    }
                }
            }
            #expect(failures == [])
            // Nothing was written: no build, no mirror, no work dir, no file from the hostile ref.
            let queued = try await sw.builds(client)
            #expect(queued.isEmpty)
            for dir in ["git", "builds", "work", "envs"] {
                #expect(!FileManager.default.fileExists(atPath: sw.world.dataDir + "/" + dir), "\(dir) was created")
            }
            #expect(!FileManager.default.fileExists(atPath: marker))
            let health = try await client.send("GET", "/healthz")
            #expect(health.status == 200)
            let metrics = try await client.send("GET", "/metrics", headers: sw.auth).text
            #expect(metrics.contains(#"gobay_webhook_deliveries_total{sender="github",result="unauthorized"} 2"#))
        }
    }

    @Test func noSecretConfiguredRefusesUnlessTheProjectSaysNone() async throws {
        let world = try BuildWorld(label: "nosecret")
        try world.appendConfig("server:\n  quiet_period: 0\n")
        let commit = try world.modern.head()
        let body = try WebhookFixtures.gitlabPush(repo: world.modern.path, branch: "main", commit: commit)
        let headers = ["X-Gitlab-Event": "Push Hook", "Content-Type": "application/json"]
        try await InProcessServer(configPath: world.configPath).test { server in
            let refused = try await server.send("POST", "/hooks/gitlab", headers: headers, body: body)
            #expect(refused.status == 401)
            #expect(refused.json?["hint"] as? String == "no webhook secret is configured: set server.webhook_secret (or a project's webhook_secret)")
        }

        try world.editConfig("    branch: main\n", "    branch: main\n    webhook_secret: none\n")
        try await InProcessServer(configPath: world.configPath).test { open in
            let accepted = try await open.send("POST", "/hooks/gitlab", headers: headers, body: body)
            #expect(accepted.status == 202)
            #expect((accepted.json?["queued"] as? [Any])?.count == 1, "\(accepted.text)")
        }
    }
}

/// A hostile ref sent to the real binary: only a process can show that the server started no child.
@Suite("server: a hostile webhook ref starts no process", .serialized)
struct WebhookHostileRefProcessTests {
    @Test func aHostileRefLeavesTheServerWithoutChildren() throws {
        let sw = try ServerWorld(label: "hostileref")
        let server = try sw.start()
        let marker = "/tmp/gobay-hostile-\(UUID().uuidString.prefix(8))"
        let commit = try sw.world.modern.head()
        for sender in WebhookBadInputTests.senders {
            let hostile = try WebhookFixtures.push(
                sender.fixture, repo: sw.world.modern.path, ref: "refs/heads/$(touch \(marker))", after: commit)
            var headers = sender.sign(hostile, "project-secret")
            headers[sender.eventHeader] = sender.pushEvent
            headers["Content-Type"] = "application/json"
            let reply = server.send("POST", "/hooks/\(sender.name)", headers: headers, body: hostile)
            #expect(reply.status == 202, "\(sender.name): \(reply.text)")
            #expect(reply.text.contains("not a valid git ref"), "\(sender.name): \(reply.text)")
            #expect((reply.json?["queued"] as? [Any])?.isEmpty == true, "\(sender.name): \(reply.text)")
        }
        #expect(sw.builds(server).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(childProcesses(of: server.process.pid).isEmpty)
    }

    private func childProcesses(of pid: Int32) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> String? in
            guard Int32(entry) != nil, let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == pid ? entry : nil
        }
    }
}

import Foundation
import GobayCore
import GobayTesting
import Testing

/// Whole binary, end to end: a real push queues a real build, whose binary and commit statuses are checked.
@Suite("server: a push becomes a binary", .serialized)
struct WebhookEndToEndTests {
    @Test func gitlabPushQueuesRunsBuildsAndReportsStatus() throws {
        let sw = try ServerWorld(label: "e2e", failFirst: 1)
        let server = try sw.start()
        let commit = try sw.world.modern.head()
        let uuid = UUID().uuidString
        let start = Date()
        let reply = try sw.pushModern(server, commit: commit, uuid: uuid)
        #expect(reply.status == 202, "\(reply.text)")
        #expect(Date().timeIntervalSince(start) < 2, "webhooks must be answered at once")
        let queued = try #require((reply.json?["queued"] as? [[String: Any]])?.first)
        let id = try #require(queued["id"] as? Int)
        #expect(queued["commit"] as? String == commit)

        // Watch it go queued → running → succeeded.
        var seen: [String] = []
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let status = server.send("GET", "/api/v1/builds/\(id)", headers: sw.auth).json?["status"] as? String ?? "?"
            if seen.last != status { seen.append(status) }
            if !["queued", "running"].contains(status) { break }
            usleep(20_000)
        }
        // Polling may miss a short state; what it saw must follow queued → running → succeeded.
        #expect(seen.last == "succeeded", "\(seen)")
        let order = ["queued", "running", "succeeded"]
        #expect(seen.allSatisfy(order.contains) && seen == seen.sorted { order.firstIndex(of: $0)! < order.firstIndex(of: $1)! }, "\(seen)")
        let record = try #require(server.send("GET", "/api/v1/builds/\(id)", headers: sw.auth).json)
        let created = try #require(Timestamp.date(record["created_at"] as? String ?? ""))
        let started = try #require(Timestamp.date(record["started_at"] as? String ?? ""))
        let finished = try #require(Timestamp.date(record["finished_at"] as? String ?? ""))
        #expect(created <= started && started <= finished)
        #expect(record["trigger"] as? String == "webhook")
        #expect(record["environment"] as? String == "modern")

        // The binary, downloaded through the API, runs and reports the environment's Go.
        let artifact = server.send("GET", "/api/v1/builds/\(id)/artifacts/modern-svc", headers: sw.auth)
        #expect(artifact.status == 200)
        #expect(artifact.headers["x-checksum-sha256"] == FileDigest.sha256(data: artifact.body))
        let binary = sw.world.sandbox.path + "/downloaded"
        try artifact.body.write(to: URL(fileURLWithPath: binary))
        chmod(binary, 0o755)
        #expect(try sw.world.runBinary(binary) == "go" + sw.world.versions.modern)

        // GitLab got pending → running → success (pending twice: the first try was answered 500).
        var posts: [RecordingServer.Recorded] = []
        for _ in 0..<100 {
            posts = sw.statusServer.requests
            if posts.last?.json?["state"] as? String == "success" { break }
            usleep(100_000)
        }
        let states = posts.compactMap { $0.json?["state"] as? String }
        #expect(states == ["pending", "pending", "running", "success"], "\(states)")
        for post in posts {
            #expect(post.method == "POST")
            #expect(post.path == "/api/v4/projects/team%2Fmodern-svc/statuses/\(commit)")
            #expect(post.headers["private-token"] == ServerWorld.gitlabToken)
            #expect((post.json?["target_url"] as? String)?.hasSuffix("/builds/\(id)") == true && !(post.json?["target_url"] as? String ?? "").contains("/api/"))
        }
        // The token never reaches the server's log.
        #expect(!server.log.contains(ServerWorld.gitlabToken))
        #expect(!server.log.contains(ServerWorld.token))

        // The same delivery again: the original answer, nothing new queued.
        let again = try sw.pushModern(server, commit: commit, uuid: uuid)
        #expect(again.status == 202)
        #expect(again.text == reply.text)
        #expect(again.headers["x-gobay-redelivery"] == "true")
        #expect(sw.builds(server).count == 1)

        let metrics = server.send("GET", "/metrics", headers: sw.auth).text
        #expect(metrics.contains(#"gobay_webhook_deliveries_total{sender="gitlab",result="queued"} 1"#))
        #expect(metrics.contains(#"gobay_webhook_deliveries_total{sender="gitlab",result="duplicate"} 1"#))
        #expect(metrics.contains(#"gobay_builds{status="succeeded",environment="modern"} 1"#))
        #expect(metrics.contains(#"gobay_build_duration_seconds_count{environment="modern"} 1"#))
        #expect(metrics.contains("gobay_queue_depth 0"))
    }

    @Test func quickPushesToOneBranchBuildOnlyTheNewest() throws {
        let sw = try ServerWorld(label: "coalesce", quiet: "3s")
        let server = try sw.start()
        var commits: [String] = []
        for i in 1...5 {
            commits.append(try sw.world.modern.commit(["PUSH": "\(i)\n"], message: "push \(i)"))
            let reply = try sw.pushModern(server, commit: commits.last ?? "")
            #expect(reply.status == 202)
        }
        let newest = try #require(sw.builds(server).first?["id"] as? Int)
        let final = server.waitForBuild(Int64(newest), token: ServerWorld.token)
        #expect(final?["status"] as? String == "succeeded")
        #expect(final?["commit"] as? String == commits.last)
        let all = sw.builds(server)
        #expect(all.count == 5)
        let statuses = all.compactMap { $0["status"] as? String }
        #expect(statuses.filter { $0 == "succeeded" }.count == 1, "\(statuses)")
        #expect(statuses.filter { $0 == "superseded" }.count == 4, "\(statuses)")
        let superseded = server.send("GET", "/api/v1/builds?status=superseded", headers: sw.auth).jsonArray ?? []
        #expect(Set(superseded.compactMap { $0["commit"] as? String }) == Set(commits.dropLast()))
    }

    @Test func cliFollowsAServerBuildAndExitsWithItsResult() throws {
        let sw = try ServerWorld(label: "cli")
        let server = try sw.start()
        var spec = sw.world.gobay.spec(["build", "modern-svc", "--server", server.baseURL, "--follow"])
        spec.environment["GOBAY_TOKEN"] = ServerWorld.token
        let ok = try ProcessRunner.capture(spec, deadline: Date().addingTimeInterval(120))
        #expect(ok.outcome.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("[build] $ go build"))
        #expect(ok.stdout.contains("succeeded"))

        try sw.world.modern.commit(["main.go": "package main\n\nfunc main() { nope() }\n"], message: "broken")
        let failed = try ProcessRunner.capture(spec, deadline: Date().addingTimeInterval(120))
        #expect(failed.outcome.status == 1)
        #expect(failed.stdout.contains("undefined: nope"))

        var list = sw.world.gobay.spec(["builds", "--server", server.baseURL, "--json"])
        list.environment["GOBAY_TOKEN"] = ServerWorld.token
        let listed = try ProcessRunner.capture(list)
        let records = try JSONDecoder().decode([BuildRecord].self, from: Data(listed.stdout.utf8))
        #expect(records.map(\.status) == [.failed, .succeeded])

        var noToken = sw.world.gobay.spec(["builds", "--server", server.baseURL])
        noToken.environment.removeValue(forKey: "GOBAY_TOKEN")
        let refused = try ProcessRunner.capture(noToken)
        #expect(refused.outcome.status == 2)
        #expect(refused.stderr.contains("needs a token"))
    }

    @Test func githubPushReportsGitHubStatuses() throws {
        let world = try BuildWorld(label: "github")
        let recorder = try RecordingServer(dir: world.sandbox.path + "/github")
        try world.editConfig(
            "    ldflags: \"-X main.version={short_commit}\"\n",
            """
                ldflags: "-X main.version={short_commit}"
                status:
                  github: { url: "\(recorder.baseURL)", repo: team/legacy-svc, token_env: GOBAY_TEST_GITHUB_TOKEN }

            """)
        try world.appendConfig("server:\n  webhook_secret: gh-secret\n  quiet_period: 0\n  public_read: true\n")
        let server = try world.startServer(environment: ["GOBAY_TEST_GITHUB_TOKEN": "ghp_test"])
        let commit = try world.legacy.head()
        let body = try WebhookFixtures.push("github-push.json", repo: world.legacy.path, ref: "refs/heads/master", after: commit)
        let reply = server.send(
            "POST", "/hooks/github",
            headers: [
                "X-GitHub-Event": "push", "X-GitHub-Delivery": UUID().uuidString,
                "X-Hub-Signature-256": "sha256=" + WebhookVerifier.hexHMACSHA256(secret: "gh-secret", body: body),
            ], body: body)
        #expect(reply.status == 202, "\(reply.text)")
        let id = try #require((reply.json?["queued"] as? [[String: Any]])?.first?["id"] as? Int)
        let final = server.waitForBuild(Int64(id), token: "")
        #expect(final?["status"] as? String == "succeeded")
        var states: [String] = []
        for _ in 0..<100 {
            states = recorder.requests.compactMap { $0.json?["state"] as? String }
            if states.last == "success" { break }
            usleep(100_000)
        }
        #expect(states == ["pending", "pending", "success"], "running maps to GitHub's pending: \(states)")
        for post in recorder.requests {
            #expect(post.path == "/repos/team/legacy-svc/statuses/\(commit)")
            #expect(post.headers["authorization"] == "Bearer ghp_test")
            #expect(post.json?["context"] as? String == "gobay")
        }
    }
}

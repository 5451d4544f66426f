import Foundation
import GobayCore
import GobayTesting
import Testing

/// Whole binary: a push to master builds and then deploys by itself to two real targets, with
/// commit statuses for both (`gobay` and `gobay/deploy`); the API queues, lists, shows and
/// follows deployments.
@Suite("server: a push builds, then deploys", .serialized)
struct DeployServerTests {
    static let token = "deploy-token-\(UUID().uuidString)"

    @Test func pushToMasterBuildsThenDeploysAndReportsBoth() throws {
        let statusDir = try TestSandbox("deploy-status")
        let status = try RecordingServer(dir: statusDir.path)
        let dw = try DeployWorld(
            label: "deploy-server", deploySettings: "      on: [master]\n      strategy: parallel\n",
            projectSettings: """
                    webhook_secret: hook-secret
                    status:
                      gitlab: { url: "\(status.baseURL)", project_id: "team/api", token_env: GOBAY_TEST_GITLAB_TOKEN }

                """,
            extra: """
                server:
                  tokens: ["sha256:\(FileDigest.sha256(data: Data(Self.token.utf8)))"]
                  quiet_period: 0
                """)
        defer { dw.stop() }
        let commit = try dw.service.commit(["version.go": DeployWorld.versionFile("v7")], message: "v7")
        let server = try ServerHarness(
            gobay: dw.gobay, logDir: dw.sandbox.path, environment: ["GOBAY_TEST_GITLAB_TOKEN": "glpat-secret"])
        let auth = ["Authorization": "Bearer \(Self.token)"]
        let reply = server.send(
            "POST", "/hooks/gitlab",
            headers: [
                "X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "hook-secret", "X-Gitlab-Event-UUID": UUID().uuidString,
                "Content-Type": "application/json",
            ],
            body: try WebhookFixtures.gitlabPush(repo: dw.service.path, branch: "master", commit: commit))
        #expect(reply.status == 202, "\(reply.text)")

        func waitForDeployment(count: Int) throws -> [String: Any] {
            let deadline = Date().addingTimeInterval(180)
            while Date() < deadline {
                let list = server.send("GET", "/api/v1/deployments", headers: auth).jsonArray ?? []
                if list.count >= count, let newest = list.first,
                    !["queued", "running"].contains(newest["status"] as? String ?? "")
                {
                    return newest
                }
                usleep(200_000)
            }
            throw GobayError.failure("no deployment ended: \(server.log.suffix(3000))")
        }
        let deployed = try waitForDeployment(count: 1)
        #expect(deployed["status"] as? String == "succeeded", "\(deployed)")
        #expect(deployed["trigger"] as? String == "build")
        #expect(dw.versions() == ["v7", "v7"])
        let id = try #require(deployed["id"] as? Int)
        let log = server.send("GET", "/api/v1/deployments/\(id)/log", headers: auth).text
        #expect(log.contains("[web-1] health: done in") && log.contains("[web-2] health: done in"), "\(log)")
        let followed = server.send("GET", "/api/v1/deployments/\(id)/log?follow=1", headers: auth).text
        #expect(followed.contains("event: end") && followed.contains(#""status":"succeeded""#), "\(followed)")

        // Commit statuses: the build's and the deployment's, each pending → running → success.
        var posts: [RecordingServer.Recorded] = []
        for _ in 0..<100 {
            posts = status.requests
            if posts.filter({ $0.json?["name"] as? String == "gobay/deploy" }).last?.json?["state"] as? String == "success" { break }
            usleep(100_000)
        }
        func states(_ context: String) -> [String] {
            posts.filter { $0.json?["name"] as? String == context }.compactMap { $0.json?["state"] as? String }
        }
        #expect(states("gobay") == ["pending", "running", "success"], "\(states("gobay"))")
        #expect(states("gobay/deploy") == ["pending", "running", "success"], "\(states("gobay/deploy"))")
        #expect(posts.allSatisfy { $0.path.hasSuffix("/statuses/\(commit)") })
        #expect(
            posts.contains { ($0.json?["target_url"] as? String)?.hasSuffix("/deployments") == true })

        // The API: deploy again to one target (the release is there already), and bad requests.
        let again = server.send(
            "POST", "/api/v1/projects/api/deployments", headers: auth, body: Data(#"{"targets": ["web-1"]}"#.utf8))
        #expect(again.status == 202, "\(again.text)")
        let second = try waitForDeployment(count: 2)
        #expect(second["status"] as? String == "succeeded" && second["trigger"] as? String == "api", "\(second)")
        let secondLog = server.send("GET", "/api/v1/deployments/\(second["id"] as? Int ?? 0)/log", headers: auth).text
        #expect(secondLog.contains("is there already"), "\(secondLog)")
        let unknownTarget = server.send(
            "POST", "/api/v1/projects/api/deployments", headers: auth, body: Data(#"{"targets": ["nope"]}"#.utf8))
        #expect(unknownTarget.status == 404, "\(unknownTarget.text)")
        let unknownField = server.send(
            "POST", "/api/v1/projects/api/deployments", headers: auth, body: Data(#"{"bulid": 1}"#.utf8))
        #expect(unknownField.status == 400)
        #expect(server.send("POST", "/api/v1/projects/api/deployments").status == 401)
        // `gobay deploy --server`: queued there, its log followed here, the exit code its end.
        var remote = dw.gobay.spec(["deploy", "api", "--target", "web-1", "--server", server.baseURL, "--json"])
        remote.environment["GOBAY_TOKEN"] = Self.token
        let viaServer = try ProcessRunner.capture(remote, deadline: Date().addingTimeInterval(180))
        #expect(viaServer.outcome.status == 0, "\(viaServer.stderr)")
        #expect(viaServer.stderr.contains("[web-1] health: done in"), "\(viaServer.stderr)")
        let remoteRecord = try JSONDecoder().decode(DeploymentRecord.self, from: Data(viaServer.stdout.utf8))
        #expect(remoteRecord.status == .succeeded && remoteRecord.trigger == "api")
        let metrics = server.send("GET", "/metrics", headers: auth).text
        #expect(metrics.contains(#"gobay_deployments_total{project="api",target="web-1",status="succeeded"} 3"#), "\(metrics)")
        #expect(!server.log.contains("glpat-secret") && !server.log.contains(Self.token))
    }
}

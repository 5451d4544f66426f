import Foundation
import GobayCore
import GobayTesting
import Testing

/// Whole binary: the log lines are the server's stderr as `serve` sets it up, and status links need real builds.
@Suite("server: logs and commit status links", .serialized)
struct ServerLogTests {
    @Test func jsonLogsAccessLinesAndWebhookRefusalsWithoutSecrets() throws {
        let sw = try ServerWorld(label: "jsonlog", server: "  log_format: json")
        let server = try sw.start()
        #expect(server.send("GET", "/api/v1/builds?limit=5&token=sekrit-query-token", headers: sw.auth).status == 200)
        let refused = try sw.pushModern(server, commit: try sw.world.modern.head(), token: "wrong-secret")
        #expect(refused.status == 401)
        let lines = server.log.split(separator: "\n").filter { $0.hasPrefix("{") }
        let objects = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        #expect(objects.count == lines.count && !objects.isEmpty, "\(server.log)")
        #expect(server.log.split(separator: "\n").allSatisfy { $0.hasPrefix("{") }, "\(server.log)")
        let access = objects.first { $0["msg"] as? String == "request" && $0["http.path"] as? String == "/api/v1/builds" }
        #expect(access?["http.method"] as? String == "GET", "\(objects)")
        #expect(access?["http.status"] as? String == "200")
        #expect(access?["http.duration_ms"] != nil)
        #expect(access?["level"] as? String == "info")
        let refusal = objects.first { $0["msg"] as? String == "webhook refused" }
        #expect(refusal?["http.status"] as? String == "401", "\(objects)")
        #expect((refusal?["hook.reason"] as? String)?.contains("token") == true)
        #expect(objects.contains { $0["msg"] as? String == "request" && $0["http.status"] as? String == "401" })
        for secret in ["sekrit-query-token", ServerWorld.token, "wrong-secret", "project-secret", "global-secret"] {
            #expect(!server.log.contains(secret), "\(secret) leaked into the log")
        }
    }

    @Test func textLogsAreLogfmtAndOversizedHooksAreLoggedWithTheirReason() throws {
        let sw = try ServerWorld(label: "textlog")
        let server = try sw.start()
        let big = server.send(
            "POST", "/hooks/gitlab", headers: ["X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "project-secret"],
            body: Data(repeating: UInt8(ascii: "x"), count: 70 * 1024))
        #expect(big.status == 413)
        let line = server.log.split(separator: "\n").first { $0.contains("msg=\"webhook refused\"") } ?? ""
        #expect(line.contains("level=warning"), "\(server.log)")
        #expect(line.contains("http.status=413"), "\(line)")
        #expect(line.contains("hook.reason=\"the body is larger than server.max_body"), "\(line)")
        #expect(server.log.contains("msg=request") && server.log.contains("http.path=/hooks/gitlab"), "\(server.log)")
    }

    @Test func publicReadLinksCommitStatusesToThePlainTextLog() throws {
        let sw = try ServerWorld(label: "statuslink", server: "  public_read: true")
        let server = try sw.start()
        let reply = try sw.pushModern(server, commit: try sw.world.modern.head())
        let id = try #require((reply.json?["queued"] as? [[String: Any]])?.first?["id"] as? Int)
        #expect(server.waitForBuild(Int64(id), token: ServerWorld.token)?["status"] as? String == "succeeded")
        var posts: [RecordingServer.Recorded] = []
        for _ in 0..<100 {
            posts = sw.statusServer.requests
            if posts.contains(where: { $0.json?["state"] as? String == "success" }) { break }
            usleep(100_000)
        }
        #expect(!posts.isEmpty)
        for post in posts {
            #expect((post.json?["target_url"] as? String)?.hasSuffix("/builds/\(id)") == true, "\(post.body)")
        }
        // The link, the dashboard's page of the build, opens without a token.
        #expect(server.send("GET", "/builds/\(id)").status == 200)
    }
}

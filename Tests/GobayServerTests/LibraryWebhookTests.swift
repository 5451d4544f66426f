import Foundation
import GobayCore
import GobayTesting
import Testing

/// Whole binary: a real GitLab push payload (the fixture, rewritten) to the library's repository
/// updates every environment in the server's background and queues each dependent's rebuild,
/// coalesced over several quick pushes.
@Suite("server: a library push rebuilds its dependents", .serialized)
struct LibraryWebhookTests {
    static let token = "lib-token-\(UUID().uuidString)"

    @Test func libraryPushesQueueCoalescedRebuildsAndUpdateEveryEnvironment() throws {
        let lw = try LibraryWorld(label: "lib-hook")
        let world = lw.world
        try world.editConfig("  mod-svc:\n", "  mod-svc:\n    webhook_secret: project-secret\n")
        try world.appendConfig(
            """
            server:
              webhook_secret: global-secret
              tokens: ["sha256:\(FileDigest.sha256(data: Data(Self.token.utf8)))"]
              quiet_period: 10s
            """)
        // Each dependent builds once, so the history knows it imports corelib.
        for (project, _) in LibraryWorld.dependents {
            #expect(try world.gobay.run(["build", project]).status == 0, "\(project)")
        }
        let server = try world.startServer()
        let auth = ["Authorization": "Bearer \(Self.token)"]
        func push(_ commit: String, token: String = "global-secret") throws -> HTTPTestClient.Reply {
            server.send(
                "POST", "/hooks/gitlab",
                headers: [
                    "X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": token, "X-Gitlab-Event-UUID": UUID().uuidString,
                    "Content-Type": "application/json",
                ],
                body: try WebhookFixtures.gitlabPush(repo: world.corelib.path, branch: "master", commit: commit))
        }

        // A project's secret is trusted for that project only: it cannot move a library.
        let sneaky = try lw.pushLibrary("hello from corelib sneaky")
        let refused = try push(sneaky, token: "project-secret")
        #expect(refused.status == 202 && (refused.json?["queued"] as? [Any])?.isEmpty == true, "\(refused.text)")
        #expect(refused.json?["libraries"] == nil)

        // Four quick pushes within the quiet period: one rebuild of each dependent survives.
        var commits: [String] = []
        var ids: [Int] = []
        for n in 1...4 {
            let commit = try lw.pushLibrary("hello from corelib push \(n)")
            commits.append(commit)
            let reply = try push(commit)
            #expect(reply.status == 202, "\(reply.text)")
            let libraries = try #require(reply.json?["libraries"] as? [[String: Any]])
            #expect(libraries.first?["name"] as? String == "corelib" && libraries.first?["commit"] as? String == commit)
            let queued = try #require(reply.json?["queued"] as? [[String: Any]])
            #expect(Set(queued.compactMap { $0["project"] as? String }) == Set(LibraryWorld.dependents.map(\.0)))
            ids += queued.compactMap { $0["id"] as? Int }
            if n > 1 { #expect((reply.json?["superseded"] as? [Int])?.count == LibraryWorld.dependents.count, "\(reply.text)") }
        }
        let last = try #require(commits.last)
        let count = LibraryWorld.dependents.count
        let survivors = Array(ids.suffix(count))
        let deadline = Date().addingTimeInterval(180)
        var records: [[String: Any]] = []
        while Date() < deadline {
            records = survivors.compactMap { server.send("GET", "/api/v1/builds/\($0)", headers: auth).json }
            if records.count == count, records.allSatisfy({ !["queued", "running"].contains($0["status"] as? String ?? "") }) { break }
            usleep(200_000)
        }
        #expect(records.count == count)
        for record in records {
            let project = record["project"] as? String ?? "?"
            #expect(record["status"] as? String == "succeeded", "\(project): \(record)")
            #expect(record["trigger"] as? String == "library")
            let cause = record["cause"] as? [String: Any]
            #expect(cause?["library"] as? String == "corelib" && cause?["commit"] as? String == last, "\(project)")
            #expect((record["libraries"] as? [String: String])?["corelib"] == last, "\(project)")
            let id = record["id"] as? Int ?? 0
            let binary = world.dataDir + "/builds/\(id)/artifacts/\(project)"
            #expect(try world.runBinary(binary).contains("hello from corelib push 4"), "\(project)")
        }
        for id in ids.dropLast(count) {
            #expect(server.send("GET", "/api/v1/builds/\(id)", headers: auth).json?["status"] as? String == "superseded")
        }
        // The background update brought every environment to the newest push.
        var rows: [LibraryReport.Row] = []
        while Date() < deadline {
            rows = try lw.status()
            if rows.allSatisfy({ $0.commit == last }) { break }
            usleep(200_000)
        }
        #expect(rows.count == 3 && rows.allSatisfy { $0.commit == last }, "\(rows)")
        #expect(!server.log.contains("global-secret"))
    }
}

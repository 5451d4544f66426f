import Foundation
import GobayCore
import GobayTesting
import Testing

/// Whole binary: kill -9 and restart, interrupted builds requeued, SIGTERM with running builds.
@Suite("server: restarts and shutdowns lose nothing", .serialized)
struct ServerLifecycleTests {
    func trigger(_ sw: ServerWorld, _ server: ServerHarness) throws -> Int64 {
        let reply = server.send(
            "POST", "/api/v1/projects/modern-svc/builds", headers: sw.auth.merging(["Content-Type": "application/json"]) { a, _ in a },
            body: Data(#"{"ref": "main"}"#.utf8))
        #expect(reply.status == 202, "\(reply.text)")
        return Int64(try #require(reply.json?["id"] as? Int))
    }

    func waitForLog(_ sw: ServerWorld, _ server: ServerHarness, _ id: Int64, _ text: String) {
        for _ in 0..<1200 {
            if server.send("GET", "/api/v1/builds/\(id)/log", headers: sw.auth).text.contains(text) { return }
            usleep(50_000)
        }
    }

    @Test func sigkillDuringABuildThenRestartRunsItAgain() throws {
        let sw = try ServerWorld(label: "restart")
        try sw.makeModernSlow(seconds: 4)
        let first = try sw.start()
        let id = try trigger(sw, first)
        waitForLog(sw, first, id, "$ go test")
        first.process.signal(SIGKILL)
        first.process.wait(timeout: 10)

        let second = try sw.start()
        let old = try #require(second.send("GET", "/api/v1/builds/\(id)", headers: sw.auth).json)
        #expect(old["status"] as? String == "interrupted")
        let builds = sw.builds(second)
        let retry = try #require(builds.first { ($0["retry_of"] as? Int).map(Int64.init) == id })
        let retryID = Int64(try #require(retry["id"] as? Int))
        let final = second.waitForBuild(retryID, token: ServerWorld.token)
        #expect(final?["status"] as? String == "succeeded", "\(String(describing: final))")
        #expect(final?["trigger"] as? String == "retry")
        let statuses = sw.builds(second).compactMap { $0["status"] as? String }
        #expect(!statuses.contains("running") && !statuses.contains("queued"), "\(statuses)")
        #expect(statuses.count == 2)
        #expect(sw.leftovers().isEmpty, "\(sw.leftovers())")

        // A third start does not run it yet again.
        second.process.signal(SIGTERM)
        #expect(second.process.wait(timeout: 60) == 0)
        let third = try sw.start()
        #expect(sw.builds(third).count == 2)
    }

    @Test func queuedBuildsSurviveARestart() throws {
        let sw = try ServerWorld(label: "survive", quiet: "3s")
        let first = try sw.start()
        let reply = try sw.pushModern(first, commit: try sw.world.modern.head())
        let id = Int64(try #require((reply.json?["queued"] as? [[String: Any]])?.first?["id"] as? Int))
        first.process.signal(SIGKILL)
        first.process.wait(timeout: 10)
        #expect(try AppDatabase(dataDir: sw.world.dataDir).build(id)?.status == .queued)
        let second = try sw.start()
        // Queued before the crash, still queued after it, and then built.
        let final = second.waitForBuild(id, token: ServerWorld.token)
        #expect(final?["status"] as? String == "succeeded")
        #expect(sw.builds(second).count == 1)
    }

    @Test func sigtermLetsRunningBuildsFinishWithinTheGracePeriod() throws {
        let sw = try ServerWorld(label: "graceful", server: "  grace_period: 60s")
        try sw.makeModernSlow(seconds: 2)
        let server = try sw.start()
        let id = try trigger(sw, server)
        waitForLog(sw, server, id, "$ go test")
        server.process.signal(SIGTERM)
        #expect(server.process.wait(timeout: 90) == 0)
        let database = try AppDatabase(dataDir: sw.world.dataDir)
        #expect(try database.build(id)?.status == .succeeded)
        // The status reporter stops after the scheduler: the final state was posted before the exit.
        let states = sw.statusServer.requests.compactMap { $0.json?["state"] as? String }
        #expect(states == ["running", "success"], "\(states)")
    }

    @Test func sigtermCancelsBuildsThatOutlastTheGracePeriod() throws {
        let sw = try ServerWorld(label: "grace-cancel", server: "  grace_period: 1s")
        try sw.makeModernSlow(seconds: 300)
        let server = try sw.start()
        let id = try trigger(sw, server)
        waitForLog(sw, server, id, "$ go test")
        let start = Date()
        server.process.signal(SIGTERM)
        #expect(server.process.wait(timeout: 60) == 0)
        #expect(Date().timeIntervalSince(start) < 20)
        let database = try AppDatabase(dataDir: sw.world.dataDir)
        #expect(try database.build(id)?.status == .canceled)
        #expect(sw.statusServer.requests.compactMap { $0.json?["state"] as? String } == ["running", "canceled"])
        #expect(sw.leftovers().isEmpty, "\(sw.leftovers())")
    }
}

import Foundation
import GobayCore
import GobayTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Another process (a `gobay build`, a backup, `sqlite3` by hand) may hold the database's write
/// lock for seconds. WAL readers do not wait for a writer, and a request that has to write waits
/// off the event loops: nothing else the server answers waits with it.
@Suite("server: a write lock held by another process", .serialized)
struct LockWaitTests {
    /// Holds `BEGIN IMMEDIATE` (with rows changed and not committed) on `database` for `seconds`.
    static let lockHolder = #"""
        import sqlite3, sys, time
        db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE build SET error = error")
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
        db.execute("COMMIT")
        print("released", flush=True)
        """#

    struct Timed: Sendable {
        var status: Int
        var seconds: Double
    }

    static func timed(_ method: String, _ url: String, headers: [String: String], body: Data? = nil) async -> Timed {
        var request = URLRequest(url: URL(string: url) ?? URL(fileURLWithPath: "/"))
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = 60
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let clock = ContinuousClock()
        let start = clock.now
        let response = try? await URLSession.shared.data(for: request).1 as? HTTPURLResponse
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Timed(status: response?.statusCode ?? 0, seconds: seconds)
    }

    @Test func readsAndHealthChecksAnswerWhileAnotherProcessHoldsTheWriteLock() async throws {
        // The quiet period keeps every queued build waiting: nothing but the requests writes.
        let sw = try ServerWorld(label: "lock-wait", quiet: "1h")
        let server = try sw.start()
        let commit = try sw.world.modern.head()
        for n in 0..<5 {
            #expect(try sw.pushModern(server, commit: commit, branch: "main", uuid: "before-\(n)").status == 202)
        }
        let listed = sw.builds(server)
        let id = try #require(listed.first?["id"] as? Int)
        #expect(listed.count == 5)

        let script = try sw.world.sandbox.write("hold-lock.py", Self.lockHolder)
        let holder = try ChildProcess(
            ProcessSpec(
                ["python3", script, sw.world.dataDir + "/gobay.sqlite", "10"],
                environment: ProcessInfo.processInfo.environment),
            stdoutPath: sw.world.sandbox.path + "/hold-lock.out", stderrPath: sw.world.sandbox.path + "/hold-lock.err")
        for _ in 0..<200 where !holder.stdout.contains("locked") { try await Task.sleep(for: .milliseconds(25)) }
        try #require(holder.stdout.contains("locked"), "\(holder.stderr)")
        let locked = ContinuousClock.now

        let base = server.baseURL
        let auth = sw.auth
        // Requests that write wait for the lock: triggers through the API (more of them than the
        // server has threads) and a webhook.
        let hook = try WebhookFixtures.gitlabPush(repo: sw.world.modern.path, branch: "main", commit: commit)
        async let writes = withTaskGroup(of: Timed.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    await Self.timed(
                        "POST", base + "/api/v1/projects/modern-svc/builds", headers: auth, body: Data("{}".utf8))
                }
            }
            group.addTask {
                await Self.timed(
                    "POST", base + "/hooks/gitlab",
                    headers: [
                        "X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "project-secret",
                        "X-Gitlab-Event-UUID": "during", "Content-Type": "application/json",
                    ],
                    body: hook)
            }
            return await group.reduce(into: []) { $0.append($1) }
        }

        // Meanwhile, for five seconds, reads and health checks answer at once.
        var slowest: [String: Double] = [:]
        var answered = 0
        while ContinuousClock.now - locked < .seconds(5) {
            for path in ["/api/v1/builds", "/api/v1/builds/\(id)", "/healthz", "/metrics"] {
                let reply = await Self.timed("GET", base + path, headers: auth)
                #expect(reply.status == 200, "\(path)")
                slowest[path] = max(slowest[path] ?? 0, reply.seconds)
                answered += 1
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(answered >= 40)
        for (path, seconds) in slowest {
            #expect(seconds < 0.05, "\(path) took \(Int(seconds * 1000)) ms while another process held the write lock")
        }
        #expect(ContinuousClock.now - locked < .seconds(9), "the lock was still held while the reads ran")

        // The writes waited for the lock, then went through.
        let written = await writes
        #expect(holder.wait(timeout: 30) == 0, "\(holder.stderr)")
        #expect(written.map(\.status) == [202, 202, 202, 202, 202], "\(written)")
        #expect(written.allSatisfy { $0.seconds > 5 }, "a write did not wait for the lock: \(written)")
        #expect(sw.builds(server).count == 10)
        #expect(server.send("GET", "/healthz").status == 200)
    }
}

import Foundation
import GobayCore
import GobayTesting
import Testing

/// Another process (a `gobay build`, a backup, `sqlite3` by hand) may hold the database's write
/// lock for seconds. WAL readers do not wait for a writer, and a request that has to write waits
/// off the event loops and the cooperative pool: nothing else the server answers waits with it.
/// Whole binary: the lock is held by another process on the server's data dir.
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
        print("released", time.time(), flush=True)
        """#

    /// Sends writes in the background (four API triggers, more than the server has threads, and
    /// a webhook) and, meanwhile, reads and health checks for `seconds`; prints every request's
    /// status and time as JSON. A process of its own, so the test runner's load does not count.
    static let client = #"""
        import json, sys, threading, time, urllib.error, urllib.request
        base, token, seconds, hook = sys.argv[1], sys.argv[2], float(sys.argv[3]), open(sys.argv[4], "rb").read()
        auth = {"Authorization": "Bearer " + token}

        def call(method, path, headers, body=None):
            request = urllib.request.Request(base + path, data=body, method=method, headers=headers)
            start = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=60) as reply:
                    reply.read()
                    status = reply.status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError:
                status = 0
            return {"path": path, "status": status, "seconds": time.monotonic() - start}

        writes = []
        def write(path, headers, body):
            writes.append(call("POST", path, headers, body))
        trigger = ("/api/v1/projects/modern-svc/builds", {**auth, "Content-Type": "application/json"}, b"{}")
        webhook = ("/hooks/gitlab", {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "project-secret",
                                     "X-Gitlab-Event-UUID": "during-the-lock", "Content-Type": "application/json"}, hook)
        threads = [threading.Thread(target=write, args=trigger) for _ in range(4)]
        threads.append(threading.Thread(target=write, args=webhook))
        for thread in threads:
            thread.start()
        reads = []
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            for path in sys.argv[5:]:
                reads.append(call("GET", path, auth))
            time.sleep(0.05)
        reads_ended = time.time()
        for thread in threads:
            thread.join()
        print(json.dumps({"reads": reads, "writes": writes, "reads_ended": reads_ended}))
        """#

    struct Timed: Decodable, CustomStringConvertible {
        var path: String
        var status: Int
        var seconds: Double

        var description: String { "\(path) \(status) in \(Int(seconds * 1000)) ms" }
    }

    struct Measured: Decodable {
        var reads: [Timed]
        var writes: [Timed]
        var readsEnded: Double

        enum CodingKeys: String, CodingKey {
            case reads, writes
            case readsEnded = "reads_ended"
        }
    }

    @Test func readsAndHealthChecksAnswerWhileAnotherProcessHoldsTheWriteLock() throws {
        // The quiet period keeps every queued build waiting: nothing but the requests writes.
        let sw = try ServerWorld(label: "lock-wait", quiet: "1h")
        let server = try sw.start()
        let commit = try sw.world.modern.head()
        for n in 0..<5 {
            #expect(try sw.pushModern(server, commit: commit, branch: "main", uuid: "before-\(n)").status == 202)
        }
        let id = try #require(sw.builds(server).first?["id"] as? Int)
        let sandbox = sw.world.sandbox
        let hook = try WebhookFixtures.gitlabPush(repo: sw.world.modern.path, branch: "main", commit: commit)
        let hookPath = sandbox.path + "/hook.json"
        try hook.write(to: URL(fileURLWithPath: hookPath))
        let environment = ProcessInfo.processInfo.environment

        let holder = try ChildProcess(
            ProcessSpec(
                [
                    "python3", try sandbox.write("hold-lock.py", Self.lockHolder), sw.world.dataDir + "/gobay.sqlite",
                    "10",
                ],
                environment: environment),
            stdoutPath: sandbox.path + "/hold-lock.out", stderrPath: sandbox.path + "/hold-lock.err")
        for _ in 0..<400 where !holder.stdout.contains("locked") { usleep(25_000) }
        try #require(holder.stdout.contains("locked"), "\(holder.stderr)")

        let client = try ChildProcess(
            ProcessSpec(
                [
                    "python3", try sandbox.write("client.py", Self.client), server.baseURL, ServerWorld.token, "5",
                    hookPath, "/api/v1/builds", "/api/v1/builds/\(id)", "/healthz", "/metrics",
                ],
                environment: environment),
            stdoutPath: sandbox.path + "/client.out", stderrPath: sandbox.path + "/client.err")
        #expect(client.wait(timeout: 90) == 0, "\(client.stderr)")
        #expect(holder.wait(timeout: 30) == 0, "\(holder.stderr)")
        let measured = try JSONDecoder().decode(Measured.self, from: Data(client.stdout.utf8))

        // While the lock was held, reads and health checks answered at once; none waited for it.
        // (The median, not every request: the suite runs in parallel on a loaded machine.)
        let released = try #require(
            Double(holder.stdout.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        #expect(measured.readsEnded < released, "the reads ran after the lock was released")
        let reads = measured.reads
        #expect(reads.count >= 20, "\(measured.reads)")
        #expect(reads.allSatisfy { $0.status == 200 }, "\(reads)")
        for path in Set(reads.map(\.path)) {
            let times = reads.filter { $0.path == path }.map(\.seconds).sorted()
            #expect(times[times.count / 2] < 0.05, "\(path) while another process held the write lock: \(times)")
            #expect(times.last ?? 0 < 2, "\(path) waited for the lock: \(times)")
        }
        // The writes waited for the lock, then went through.
        #expect(measured.writes.map(\.status) == [202, 202, 202, 202, 202], "\(measured.writes)")
        #expect(measured.writes.allSatisfy { $0.seconds > 4 }, "a write did not wait for the lock: \(measured.writes)")
        #expect(sw.builds(server).count == 10)
    }
}

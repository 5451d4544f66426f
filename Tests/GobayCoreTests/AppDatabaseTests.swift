import Foundation
import GRDB
import GobayTesting
import Synchronization
import Testing

@testable import GobayCore

/// AppDatabase on an in-memory database: the queue, the records and the migrations.
@Suite("database: builds, queue and migrations")
struct AppDatabaseTests {
    func request(
        _ project: String = "api", ref: String = "main", environment: String? = nil, trigger: Trigger = .webhook,
        coalesce: Bool = false, notBefore: Date? = nil
    ) -> AppDatabase.Enqueue {
        AppDatabase.Enqueue(
            project: project, ref: ref, commit: nil, environment: environment, trigger: trigger, coalesce: coalesce,
            notBefore: notBefore)
    }

    @Test func enqueueStoresNoEnvironmentUntilTheBuildIsPlanned() async throws {
        let database = try AppDatabase(DatabaseQueue())
        let id = try await database.enqueue(request()).id
        let queued = try #require(try await database.build(id))
        #expect(queued.environment == nil && queued.goVersion == nil)
        #expect(queued.status == .queued && queued.trigger == .webhook && queued.startedAt == nil)
        let stored = try database.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT environment, go_version FROM build WHERE id = ?", arguments: [id])
        }
        #expect(stored?["environment"] == nil && stored?["go_version"] == nil)

        try database.recordPlan(id, environment: "modern", goVersion: "1.22.10", commit: "abc", ref: "main")
        let planned = try #require(try await database.build(id))
        #expect(planned.environment == "modern" && planned.goVersion == "1.22.10" && planned.commit == "abc")

        // gobay build plans first: its build is stored planned and owned.
        let cli = try database.enqueue(
            project: "api", environment: "legacy", goVersion: "1.19.8", commit: "def", ref: "main", owner: "me")
        let record = try #require(try await database.build(cli))
        #expect(record.environment == "legacy" && record.goVersion == "1.19.8" && record.trigger == .cli)
        #expect(
            try await database.claimable().map(\.id) == [id], "a build run by a process is not in the server's queue")
    }

    @Test func claimFinishAndCancel() async throws {
        let database = try AppDatabase(DatabaseQueue())
        let later = try await database.enqueue(request("later", notBefore: Date().addingTimeInterval(3600))).id
        let first = try await database.enqueue(request("api", environment: "modern")).id
        let second = try await database.enqueue(request("web")).id
        #expect(try await database.claimable().map(\.id) == [first, second])
        // In the order they became startable, not the order they were queued.
        #expect(try await database.claimable(now: Date().addingTimeInterval(7200)).map(\.id) == [first, second, later])
        #expect(try await database.claimable().first?.environment == "modern")

        #expect(try await database.claim(first, owner: "a"))
        #expect(try await !database.claim(first, owner: "b"), "claimed once")
        #expect(try await !database.cancelQueued(first), "a claimed build is not canceled as a waiting one")
        try await database.markRunning(first)
        let step = try database.startStep(first, name: "fetch")
        try database.finishStep(step, status: .succeeded)
        _ = try database.startStep(first, name: "build")
        try database.addArtifacts(
            first,
            [
                ArtifactRecord(name: "junit.xml", path: "/a/junit.xml", sha256: "1", size: 1, goos: "", goarch: ""),
                ArtifactRecord(name: "api", path: "/a/api", sha256: "2", size: 2, goos: "linux", goarch: "amd64"),
            ])
        try await database.finish(first, status: .timedOut, error: "too slow")
        let finished = try #require(try await database.build(first))
        #expect(finished.status == .timedOut && finished.error == "too slow")
        #expect(finished.steps.map(\.status) == [.succeeded, .timedOut], "the running step ends with the build")
        #expect(finished.steps.allSatisfy { $0.finishedAt != nil })
        #expect(finished.artifacts.map(\.name) == ["api", "junit.xml"], "binaries first")
        let started = try #require(finished.startedAt)
        #expect(try #require(finished.finishedAt) >= started)
        #expect(finished.duration != nil)

        #expect(try await database.cancelQueued(second))
        #expect(try await database.build(second)?.status == .canceled)
        #expect(try await database.claimable().isEmpty)
    }

    @Test func aCanceledBuildTaskStillRecordsItsEnd() async throws {
        let database = try AppDatabase(DatabaseQueue())
        let id = try await database.enqueue(request()).id
        let record = try await withThrowingTaskGroup(of: BuildRecord?.self) { group in
            group.cancelAll()
            group.addTask {
                #expect(Task.isCancelled)
                try await database.markRunning(id)
                try await database.finish(id, status: .canceled, error: "canceled")
                return try await database.build(id)
            }
            return try await group.next() ?? nil
        }
        #expect(record?.status == .canceled && record?.startedAt != nil)
    }

    @Test func coalescingSupersedesOlderWaitingBuilds() async throws {
        let database = try AppDatabase(DatabaseQueue())
        let old = try await database.enqueue(request(coalesce: true)).id
        let other = try await database.enqueue(request(ref: "dev", coalesce: true)).id
        let new = try await database.enqueue(request(coalesce: true))
        #expect(new.superseded == [old])
        #expect(try await database.build(old)?.status == .superseded)
        #expect(try await database.build(other)?.status == .queued)
        #expect(try await database.queueDepth() == 2)
    }

    /// The scheduler's look at the queue is one range of `build_claimable`, with no sort and no
    /// scan, however deep the queue; it skips running projects and takes builds in the order
    /// they became startable.
    @Test func claimableUsesItsIndexAndSkipsBusyProjects() async throws {
        let database = try AppDatabase(DatabaseQueue())
        let now = Date()
        // Explicit times, so a machine too busy to run this test for minutes changes nothing.
        let a = try await database.enqueue(request("a", notBefore: now.addingTimeInterval(-5))).id
        let b = try await database.enqueue(request("b", notBefore: now.addingTimeInterval(-0.5))).id
        _ = try await database.enqueue(request("c", notBefore: now.addingTimeInterval(10 * 365 * 86_400))).id
        let a2 = try await database.enqueue(request("a", ref: "dev", notBefore: now.addingTimeInterval(-1))).id
        let later = now.addingTimeInterval(86_400)
        let all = try await database.claimable(now: later).map(\.id)
        #expect(all == [a, a2, b], "\(all) a=\(a) a2=\(a2) b=\(b)")
        #expect(try await database.claimable(now: later, excluding: ["a"]).map(\.id) == [b])
        #expect(try await database.claimable(now: later, limit: 1).map(\.id) == [a])
        for busy: Set<String> in [[], ["a", "b"]] {
            let plan = try await database.writer.read { db in
                let statement = try AppDatabase.claimableRequest(now: later, excluding: busy, limit: 4)
                    .makePreparedRequest(db, forSingleResult: false).statement
                return try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + statement.sql, arguments: statement.arguments)
                    .map { $0["detail"] as String? ?? "" }
            }
            #expect(plan.contains { $0.contains("USING INDEX build_claimable") }, "\(plan)")
            #expect(!plan.contains { $0.contains("TEMP B-TREE") || $0.hasPrefix("SCAN") }, "\(plan)")
        }
    }

    /// /metrics reads the build counts from a summary kept by triggers: after queueing,
    /// superseding, planning, running, finishing and deleting it equals a scan of the history,
    /// and reading it never touches the build table.
    @Test func buildCountsFollowEveryChange() async throws {
        let database = try AppDatabase(DatabaseQueue())
        func scan() async throws -> [String] {
            try await database.writer.read { db in
                try Row.fetchAll(db, sql: "SELECT status, environment, COUNT(*) FROM build GROUP BY 1, 2")
                    .map { "\($0[0] as String) \(($0[1] as String?) ?? "-") \($0[2] as Int)" }.sorted()
            }
        }
        func summary() async throws -> [String] {
            try await database.countsByStatus().map { "\($0.status.rawValue) \($0.environment ?? "-") \($0.count)" }.sorted()
        }
        var ids: [Int64] = []
        for n in 0..<30 {
            ids.append(try await database.enqueue(request("p\(n % 4)", ref: "r\(n % 3)", coalesce: n % 2 == 0)).id)
        }
        for (index, id) in ids.enumerated() where index % 3 == 0 {
            guard try await database.claim(id, owner: "x") else { continue }
            try database.recordPlan(id, environment: index % 2 == 0 ? "modern" : "legacy", goVersion: "1.22", commit: "c", ref: "r")
            try await database.markRunning(id)
            if index % 6 == 0 { try await database.finish(id, status: .succeeded, error: nil) }
        }
        #expect(try await summary() == (try await scan()))
        try await database.writer.write { db in try db.execute(sql: "DELETE FROM build WHERE id % 5 = 0") }
        #expect(try await summary() == (try await scan()))
        #expect(!(try await summary()).isEmpty)
        let plan = try await database.writer.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT status, NULLIF(environment, ''), n FROM build_count WHERE n > 0")
                .map { $0["detail"] as String? ?? "" }
        }
        #expect(!plan.contains { $0.contains(" build ") || $0.hasSuffix(" build") }, "\(plan)")
    }

    @Test func reapAndRequeueInterruptedBuilds() async throws {
        let database = try AppDatabase(DatabaseQueue())
        let server = try await database.enqueue(request(environment: "modern")).id
        #expect(try await database.claim(server, owner: "gone"))
        try await database.markRunning(server)
        _ = try database.startStep(server, name: "test")
        let cli = try database.enqueue(
            project: "api", environment: "modern", goVersion: "1.22.10", commit: "c", ref: "main", owner: "gone")
        let alive = try database.enqueue(
            project: "api", environment: "modern", goVersion: "1.22.10", commit: "c", ref: "main", owner: "here")
        let reaped = try database.reapInterrupted { $0 == "here" }
        #expect(Set(reaped.map(\.0)) == [server, cli])
        #expect(try await database.build(server)?.steps.map(\.status) == [.interrupted])
        #expect(try await database.build(alive)?.status == .queued)

        let pairs = try database.requeueInterrupted(notBefore: Date())
        #expect(pairs.map(\.old) == [server], "builds of gobay build are not retried")
        let pair = try #require(pairs.first)
        let retry = try #require(try await database.build(pair.new))
        #expect(retry.trigger == .retry && retry.retryOf == server && retry.environment == nil)
        #expect(
            try await database.claimable().first?.environment == "modern", "the retry asks for the same environment")
        #expect(try database.requeueInterrupted(notBefore: Date()).isEmpty, "once only")
    }

    @Test func listingFiltersAndPages() async throws {
        let database = try AppDatabase(DatabaseQueue())
        var ids: [Int64] = []
        for project in ["api", "web", "api", "api"] { ids.append(try await database.enqueue(request(project)).id) }
        try await database.finish(ids[2], status: .succeeded, error: nil)
        #expect(try await database.builds().map(\.id) == ids.reversed())
        #expect(try await database.builds(project: "api").map(\.id) == [ids[3], ids[2], ids[0]])
        #expect(try await database.builds(status: .succeeded).map(\.id) == [ids[2]])
        #expect(try await database.builds(before: ids[2], limit: 1).map(\.id) == [ids[1]])
        #expect(try await database.builds(limit: 2).map(\.id) == [ids[3], ids[2]])
    }

    @Test func environmentCountsIncludeWebhookQueuedBuilds() async throws {
        let database = try AppDatabase(DatabaseQueue())
        _ = try await database.enqueue(request())  // a webhook's: not planned, api builds in legacy
        _ = try await database.enqueue(request("gomod"))  // not planned, go.mod will choose: nowhere yet
        _ = try await database.enqueue(request("web", environment: "modern"))  // asked for modern
        let running = try await database.enqueue(request("cli")).id
        try database.recordPlan(running, environment: "modern", goVersion: "1.22.10", commit: "c", ref: "main")
        try await database.markRunning(running)
        let done = try await database.enqueue(request("old", environment: "legacy")).id
        try await database.finish(done, status: .failed, error: "no")
        let counts = try await database.activeCounts(projectEnvironments: ["api": "legacy"])
        #expect(counts.keys.sorted() == ["legacy", "modern"])
        #expect(counts["modern"]?.queued == 1 && counts["modern"]?.running == 1)
        #expect(counts["legacy"]?.queued == 1 && counts["legacy"]?.running == 0)
        let byStatus = try await database.countsByStatus()
        #expect(byStatus.contains { $0.status == .queued && $0.environment == nil && $0.count == 3 })
    }

    @Test func listingRunsTheSameQueriesForOneBuildOrMany() async throws {
        let statements = StatementLog()
        var config = Configuration()
        config.prepareDatabase { db in db.trace { statements.append($0.description) } }
        let database = try AppDatabase(DatabaseQueue(configuration: config))
        for n in 0..<40 {
            let id = try await database.enqueue(request("p\(n % 3)")).id
            _ = try database.startStep(id, name: "fetch")
            _ = try database.startStep(id, name: "build")
            try database.addArtifacts(
                id, [ArtifactRecord(name: "bin", path: "/b", sha256: "0", size: 0, goos: "linux", goarch: "amd64")])
            try await database.finish(id, status: .succeeded, error: nil)
        }
        func selects(_ body: () async throws -> Void) async throws -> [String] {
            statements.reset()
            try await body()
            return statements.all.filter { $0.uppercased().hasPrefix("SELECT") }
        }
        let one = try await selects {
            let builds = try await database.builds(limit: 1)
            #expect(builds.count == 1)
        }
        let many = try await selects {
            let builds = try await database.builds(limit: 40)
            #expect(builds.count == 40 && builds.allSatisfy { $0.steps.count == 2 && $0.artifacts.count == 1 })
        }
        #expect(many.count == one.count, "\(many)")
        #expect(many.count <= 3, "builds, steps, artifacts: \(many)")
        let single = try await selects {
            let build = try await database.build(7)
            #expect(build?.steps.count == 2)
        }
        #expect(single.count <= 3, "\(single)")
        let counts = try await selects { _ = try await database.activeCounts() }
        #expect(counts.count == 3, "GET /environments counts in three index reads, however many wait: \(counts)")
        for statement in counts {
            let plan = try await database.writer.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + statement, arguments: ["queued", "running"])
                    .map { $0["detail"] as String? ?? "" }
            }
            #expect(plan.contains { $0.contains("COVERING INDEX build_active") }, "\(statement): \(plan)")
        }
    }

    /// A history written by gobay before records: RFC 3339 text times, '' for the environment
    /// of unplanned builds. It opens, reads and compares times as before.
    @Test func aHistoryFromEarlierVersionsIsMigrated() async throws {
        let sandbox = try TestSandbox("old-history")
        let path = sandbox.path + "/gobay.sqlite"
        let old = try DatabasePool(path: path)
        try AppDatabase.migrator.migrate(old, upTo: "v4-test-summary")
        let created = Date(timeIntervalSince1970: 1_795_000_000.123)
        let future = Date().addingTimeInterval(3600)
        try await old.write { db in
            try db.execute(
                sql: """
                    INSERT INTO build (id, project, environment, go_version, commit_sha, ref, status, created_at,
                      started_at, finished_at, owner, trigger, test_summary)
                    VALUES (1, 'api', 'modern', '1.22.10', 'abc', 'main', 'succeeded', ?, ?, ?, 'x', 'cli', ?);
                    INSERT INTO step (build_id, name, status, started_at, finished_at) VALUES (1, 'fetch', 'succeeded', ?, ?);
                    INSERT INTO artifact (build_id, name, path, sha256, size, goos, goarch)
                      VALUES (1, 'api', '/a', '00', 3, 'linux', 'amd64');
                    INSERT INTO build (id, project, environment, go_version, commit_sha, ref, status, created_at,
                      trigger, requested_env, not_before)
                    VALUES (2, 'web', '', '', '', 'main', 'queued', ?, 'webhook', NULL, ?);
                    INSERT INTO build (id, project, environment, go_version, commit_sha, ref, status, created_at,
                      trigger, requested_env, not_before)
                    VALUES (3, 'web', 'legacy', '', '', 'dev', 'queued', ?, 'api', 'legacy', ?);
                    INSERT INTO delivery (sender, delivery_id, status, body, created_at) VALUES ('gitlab', 'u1', 202, '{}', ?);
                    """,
                arguments: [
                    Timestamp.string(created), Timestamp.string(created.addingTimeInterval(1)),
                    Timestamp.string(created.addingTimeInterval(9.5)),
                    #"{"passed":3,"failed":0,"skipped":1,"failed_tests":[]}"#,
                    Timestamp.string(created.addingTimeInterval(1)), Timestamp.string(created.addingTimeInterval(2)),
                    Timestamp.string(created), Timestamp.string(created), Timestamp.string(created),
                    Timestamp.string(future), Timestamp.string(created),
                ])
        }
        try old.close()

        let database = try AppDatabase(path: path)
        let build = try #require(try await database.build(1))
        #expect(abs(build.createdAt.timeIntervalSince(created)) < 0.002)
        #expect(abs((build.duration ?? 0) - 8.5) < 0.002)
        #expect(abs(try #require(build.steps.first?.finishedAt).timeIntervalSince(created) - 2) < 0.002)
        #expect(build.tests == TestSummary(passed: 3, failed: 0, skipped: 1, failedTests: []))
        #expect(build.artifacts.map(\.name) == ["api"])
        let unplanned = try #require(try await database.build(2))
        #expect(unplanned.environment == nil && unplanned.goVersion == nil)
        #expect(try await database.build(3)?.environment == "legacy", "an environment the trigger asked for stays")
        // not_before compares with new times: the past one is due, the future one is not.
        #expect(try await database.claimable().map(\.id) == [2])
        #expect(try await database.claimable(now: future.addingTimeInterval(1)).map(\.id) == [2, 3])
        let stored = try await database.writer.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT created_at FROM build UNION ALL SELECT started_at FROM step
                    UNION ALL SELECT created_at FROM delivery
                    """)
        }
        #expect(stored.allSatisfy { !$0.contains("T") && !$0.hasSuffix("Z") }, "\(stored)")
        // Deleting a build still takes its steps and artifacts (the foreign keys survived the new table).
        try await database.writer.write { db in try db.execute(sql: "DELETE FROM build WHERE id = 1") }
        let left = try await database.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT (SELECT COUNT(*) FROM step) + (SELECT COUNT(*) FROM artifact)")
        }
        #expect(left == 0)
        try await database.writer.read { db in try db.checkForeignKeys() }
    }
}

/// Statements a database ran, collected from its trace.
final class StatementLog: Sendable {
    private let statements = Mutex<[String]>([])

    func append(_ statement: String) { statements.withLock { $0.append(statement) } }
    func reset() { statements.withLock { $0 = [] } }
    var all: [String] { statements.withLock { $0 } }
}

/// One project's page of builds reads its own steps and artifacts, not every row between its
/// oldest and newest build (which, in a long interleaved history, is the whole history).
@Suite("database: a project's builds read their own steps")
struct ProjectPageReadTests {
    @Test func stepsAndArtifactsByIdNotByRange() async throws {
        let statements = Mutex<[String]>([])
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            db.trace { event in statements.withLock { $0.append(event.description) } }
        }
        let database = try AppDatabase(DatabaseQueue(configuration: configuration))
        func build(_ project: String) throws -> Int64 {
            let id = try database.enqueue(
                project: project, environment: "modern", goVersion: "1.22.10", commit: "abc", ref: "main", owner: "me")
            _ = try database.startStep(id, name: "build")
            return id
        }
        let first = try build("p")
        for _ in 0..<300 { _ = try build("q") }
        let last = try build("p")
        statements.withLock { $0.removeAll() }
        let page = try await database.builds(project: "p", limit: 50)
        #expect(page.map(\.id) == [last, first])
        #expect(page.allSatisfy { $0.steps.map(\.name) == ["build"] })
        let reads = statements.withLock { $0 }.filter { $0.contains("\"step\"") || $0.contains("\"artifact\"") }
        #expect(!reads.isEmpty && reads.allSatisfy { !$0.contains("BETWEEN") }, "\(reads)")
    }

    /// The dashboard's newest build per project and branch, in one statement.
    @Test func newestBuildPerProjectAndBranch() async throws {
        let database = try AppDatabase(DatabaseQueue())
        func build(_ project: String, _ ref: String) throws -> Int64 {
            try database.enqueue(
                project: project, environment: "modern", goVersion: "1.22.10", commit: "abc", ref: ref, owner: "me")
        }
        let pMain1 = try build("p", "main")
        let pDev = try build("p", "dev")
        let qMain = try build("q", "main")
        let pMain2 = try build("p", "main")
        _ = pMain1
        let found = try await database.newestBuilds([
            (project: "p", ref: "main"), (project: "p", ref: "dev"), (project: "p", ref: nil), (project: "q", ref: "main"),
            (project: "q", ref: "dev"), (project: "r", ref: nil),
        ])
        #expect(found.map { $0?.id } == [pMain2, pDev, pMain2, qMain, nil, nil])
        #expect(try await database.newestBuilds([]).isEmpty)
    }
}

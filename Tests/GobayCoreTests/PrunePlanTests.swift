import Foundation
import GRDB
import GobayTesting
import Testing

@testable import GobayCore

/// The pruner ranks builds in SQL; on thousands of mixed builds it must pick exactly what the
/// policy says, build by build, as a plain walk over each project's builds does.
@Suite("retention: the SQL plan matches the policy")
struct PrunePlanTests {
    struct Row {
        var id: Int64
        var project: String
        var ref: String
        var status: BuildStatus
        var finished: Date
    }

    /// The policy, written the obvious way: newest first per project, never the newest success of a ref.
    static func reference(_ rows: [Row], _ config: GobayConfig, now: Date) -> [Int64: String] {
        var doomed: [Int64: String] = [:]
        let ended = rows.filter { $0.status != .queued && $0.status != .running }
        for (project, builds) in Dictionary(grouping: ended, by: \.project) {
            let policy = config.retention.overridden(by: config.projects.first { $0.name == project }?.retention)
            var newestSucceeded = Set<String>()
            var seen = 0
            var seenFailed = 0
            for build in builds.sorted(by: { $0.id > $1.id }) {
                seen += 1
                if build.status == .succeeded, newestSucceeded.insert(build.ref).inserted { continue }
                if build.status != .succeeded { seenFailed += 1 }
                if let keep = policy.keepBuilds, seen > keep {
                    doomed[build.id] = "beyond keep_builds \(keep)"
                } else if let days = policy.keepDays, now.timeIntervalSince(build.finished) > Double(days) * 86_400 {
                    doomed[build.id] = "older than keep_days \(days)"
                } else if let keep = policy.keepFailed, build.status != .succeeded, seenFailed > keep {
                    doomed[build.id] = "beyond keep_failed \(keep)"
                }
            }
        }
        return doomed
    }

    @Test func planMatchesTheReferenceWalk() throws {
        let sandbox = try TestSandbox("prune-plan")
        let path = sandbox.path + "/gobay.yml"
        try """
        data_dir: \(sandbox.path)/data
        retention: { keep_builds: 40, keep_days: 30, keep_failed: 4 }
        environments:
          go122: { go: "1.22", goroot: /nonexistent }
        projects:
          api: { repo: \(sandbox.path)/api, environment: go122 }
          web: { repo: \(sandbox.path)/web, environment: go122, retention: { keep_builds: 7 } }
          jobs: { repo: \(sandbox.path)/jobs, environment: go122, retention: { keep_failed: 0, keep_days: 5 } }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: path)
        let database = try AppDatabase(dataDir: config.dataDir)
        let now = Date()
        var generator = SystemRandomNumberGenerator()
        let statuses: [BuildStatus] = [
            .succeeded, .succeeded, .succeeded, .failed, .canceled, .superseded, .timedOut, .interrupted, .queued,
            .running,
        ]
        // "gone" is a project no longer in the config: the global policy covers it.
        let rows: [Row] = (1...3_000).map { id in
            Row(
                id: Int64(id), project: ["api", "web", "jobs", "gone"].randomElement(using: &generator) ?? "api",
                ref: ["main", "main", "release", "feature/x"].randomElement(using: &generator) ?? "main",
                status: statuses.randomElement(using: &generator) ?? .failed,
                finished: now.addingTimeInterval(-Double.random(in: 0...(60 * 86_400), using: &generator)))
        }
        try database.writer.write { db in
            for row in rows {
                try db.execute(
                    sql: """
                        INSERT INTO build (id, project, environment, go_version, commit_sha, ref, status, created_at, finished_at)
                        VALUES (?, ?, 'go122', '1.22.10', ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        row.id, row.project, String(repeating: "a", count: 40), row.ref, row.status.rawValue,
                        row.finished, row.finished,
                    ])
            }
        }
        let planned = try BuildPruner(config: config, database: database).plan(now: now)
        let expected = Self.reference(rows, config, now: now)
        #expect(planned.count == expected.count)
        #expect(planned.map(\.id) == planned.map(\.id).sorted(by: >))
        for build in planned {
            #expect(expected[build.id] == build.reason, "#\(build.id) \(build.project) \(build.status): \(build.reason)")
        }
        #expect(Set(planned.map(\.id)) == Set(expected.keys))
        #expect(expected.values.contains { $0.hasPrefix("older than") } && expected.values.contains { $0.hasPrefix("beyond keep_failed") })
    }

    /// A build deployed anywhere stays, however old: the release each target runs and the one
    /// before it, and the builds of a deployment under way.
    @Test func deployedBuildsAreKept() throws {
        let sandbox = try TestSandbox("prune-deployed")
        let path = try sandbox.write(
            "gobay.yml",
            """
            data_dir: \(sandbox.path)/data
            retention: { keep_builds: 2 }
            environments:
              go122: { go: "1.22", goroot: /nonexistent }
            projects:
              api: { repo: \(sandbox.path)/api, environment: go122 }
            """)
        let config = try ConfigLoader.load(path: path)
        let database = try AppDatabase(dataDir: config.dataDir)
        let old = Date().addingTimeInterval(-86_400)
        try database.writer.write { db in
            for id in 1...10 {
                try db.execute(
                    sql: """
                        INSERT INTO build (id, project, environment, go_version, commit_sha, ref, status, created_at, finished_at)
                        VALUES (?, 'api', 'go122', '1.22.10', ?, 'main', 'succeeded', ?, ?)
                        """,
                    arguments: [id, String(repeating: "a", count: 40), old, old])
            }
        }
        // web-1 went 1 → 2 → 3 (3 current, 2 previous); web-2 tried 5 and rolled back to 4; 6 is
        // being deployed to web-3 over 1.
        for (build, target, status, previous) in [
            (2, "web-1", DeployStatus.succeeded, 1), (3, "web-1", .succeeded, 2), (4, "web-2", .succeeded, 1),
            (5, "web-2", .rolledBack, 4), (6, "web-3", .running, 1),
        ] {
            let id = try database.createDeployment(
                project: "api", build: Int64(build), strategy: .serial, trigger: "cli", owner: "x", targets: [target])
            try database.startDeploymentTarget(id, target: target, previous: Int64(previous))
            if status != .running { try database.finishDeploymentTarget(id, target: target, status: status, error: nil) }
        }
        let planned = try BuildPruner(config: config, database: database).plan(now: Date())
        // Kept: 10 and 9 (keep_builds), and the deployed 1 (web-3's previous), 2, 3, 4, 5 and 6.
        #expect(Set(planned.map(\.id)) == [7, 8], "\(planned.map(\.id))")
        #expect(try database.currentReleases(project: "api") == ["web-1": 3, "web-2": 4])
    }
}

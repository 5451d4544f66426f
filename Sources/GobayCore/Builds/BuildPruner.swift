import Foundation
import GRDB

/// Removes ended builds the retention policy no longer keeps: their rows (steps and artifacts go
/// with them), logs and artifacts. Never a build that is queued or running, nor the newest
/// successful build of each branch (the one a rollback or a deploy would want).
public struct BuildPruner: Sendable {
    let config: GobayConfig
    let database: AppDatabase

    /// A pruner for `config`'s policy over `database`.
    public init(config: GobayConfig, database: AppDatabase) {
        self.config = config
        self.database = database
    }

    /// One build to remove.
    public struct Doomed: Sendable, Equatable {
        /// Its id.
        public var id: Int64
        /// Its project.
        public var project: String
        /// Its status.
        public var status: BuildStatus
        /// Why: "beyond keep_builds", "older than keep_days", "beyond keep_failed".
        public var reason: String
    }

    /// The builds the policy removes, newest first, without removing anything.
    public func plan(now: Date = Date()) throws -> [Doomed] {
        let rows = try database.endedBuilds()
        var doomed: [Doomed] = []
        for (project, builds) in Dictionary(grouping: rows, by: \.project) {
            let policy = config.retention.overridden(
                by: config.projects.first { $0.name == project }?.retention)
            guard policy.isActive else { continue }
            let ordered = builds.sorted { $0.id > $1.id }
            var newestSucceeded = Set<String>()
            var seen = 0
            var seenFailed = 0
            for build in ordered {
                seen += 1
                if build.status == .succeeded, newestSucceeded.insert(build.ref).inserted { continue }
                if build.status != .succeeded { seenFailed += 1 }
                var reason: String?
                if let keep = policy.keepBuilds, seen > keep { reason = "beyond keep_builds \(keep)" }
                if reason == nil, let days = policy.keepDays, let finished = build.finishedAt,
                    now.timeIntervalSince(finished) > Double(days) * 86_400
                {
                    reason = "older than keep_days \(days)"
                }
                if reason == nil, build.status != .succeeded, let keep = policy.keepFailed, seenFailed > keep {
                    reason = "beyond keep_failed \(keep)"
                }
                if let reason { doomed.append(Doomed(id: build.id, project: project, status: build.status, reason: reason)) }
            }
        }
        return doomed.sorted { $0.id > $1.id }
    }

    /// Removes what `plan` names: rows first (in batches, one transaction each), then each build's
    /// directory. Returns what was removed and the bytes freed.
    @discardableResult
    public func prune(now: Date = Date()) throws -> (removed: [Doomed], bytes: Int64) {
        let doomed = try plan(now: now)
        var bytes: Int64 = 0
        for start in stride(from: 0, to: doomed.count, by: 500) {
            let batch = doomed[start..<min(start + 500, doomed.count)].map(\.id)
            try database.deleteBuilds(batch)
            for id in batch {
                let dir = BuildRunner.buildDir(dataDir: config.dataDir, id: id)
                bytes += Self.size(of: dir)
                try? FileManager.default.removeItem(atPath: dir)
            }
        }
        return (doomed, bytes)
    }

    private static func size(of dir: String) -> Int64 {
        guard let walk = FileManager.default.enumerator(atPath: dir) else { return 0 }
        var total: Int64 = 0
        while let name = walk.nextObject() as? String {
            if let size = (try? FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.size]) as? NSNumber {
                total += size.int64Value
            }
        }
        return total
    }
}

extension AppDatabase {
    /// An ended build as the pruner sees it.
    struct EndedBuild {
        var id: Int64
        var project: String
        var ref: String
        var status: BuildStatus
        var finishedAt: Date?
    }

    /// Every ended build (one query).
    func endedBuilds() throws -> [EndedBuild] {
        try writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, project, ref, status, finished_at FROM build WHERE status NOT IN ('queued', 'running')"
            ).map { row in
                EndedBuild(
                    id: row["id"], project: row["project"], ref: row["ref"],
                    status: BuildStatus(rawValue: row["status"]) ?? .failed,
                    finishedAt: (row["finished_at"] as String?).flatMap(Timestamp.date))
            }
        }
    }

    /// Deletes builds (their steps and artifacts go with them) in one transaction; a build that is
    /// queued or running again by now is left alone.
    func deleteBuilds(_ ids: [Int64]) throws {
        guard !ids.isEmpty else { return }
        try writer.write { db in
            let marks = Array(repeating: "?", count: ids.count).joined(separator: ",")
            let arguments = StatementArguments(ids)
            try db.execute(sql: "DELETE FROM step WHERE build_id IN (\(marks))", arguments: arguments)
            try db.execute(sql: "DELETE FROM artifact WHERE build_id IN (\(marks))", arguments: arguments)
            try db.execute(
                sql: "DELETE FROM build WHERE id IN (\(marks)) AND status NOT IN ('queued', 'running')", arguments: arguments)
        }
    }
}

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

    /// The builds the policy removes, newest first, without removing anything. The database ranks
    /// the builds (one query per distinct policy), so a million rows cost seconds, not minutes.
    public func plan(now: Date = Date()) throws -> [Doomed] {
        var doomed: [Doomed] = []
        for (policy, scope) in scopes() where policy.isActive {
            let cutoff = policy.keepDays.map { now.addingTimeInterval(-Double($0) * 86_400) }
            for build in try database.pruneCandidates(policy: policy, cutoff: cutoff, scope: scope) {
                let reason: String
                if let keep = policy.keepBuilds, build.seen > keep {
                    reason = "beyond keep_builds \(keep)"
                } else if let days = policy.keepDays, build.expired {
                    reason = "older than keep_days \(days)"
                } else if let keep = policy.keepFailed, build.status != .succeeded, build.failedSeen > keep {
                    reason = "beyond keep_failed \(keep)"
                } else {
                    continue
                }
                doomed.append(Doomed(id: build.id, project: build.project, status: build.status, reason: reason))
            }
        }
        return doomed.sorted { $0.id > $1.id }
    }

    /// Which projects each policy covers: every project with its own `retention:` keys gets its
    /// policy; the global one covers the rest, including projects no longer in the config.
    private func scopes() -> [(RetentionConfig, AppDatabase.PruneScope)] {
        var overridden: [String: RetentionConfig] = [:]
        for project in config.projects where project.retention != nil {
            overridden[project.name] = config.retention.overridden(by: project.retention)
        }
        var scopes: [(RetentionConfig, AppDatabase.PruneScope)] = [(config.retention, .allBut(Array(overridden.keys)))]
        for (name, policy) in overridden { scopes.append((policy, .only([name]))) }
        return scopes
    }

    /// Removes what `plan` names: rows first (in batches, one transaction each), then each build's
    /// directory. Returns what was removed and the bytes freed.
    @discardableResult
    public func prune(now: Date = Date()) throws -> (removed: [Doomed], bytes: Int64) {
        let doomed = try plan(now: now)
        var bytes: Int64 = 0
        // Batches keep each write transaction short, so a server's builds and webhooks never wait long.
        for start in stride(from: 0, to: doomed.count, by: 2_000) {
            let batch = doomed[start..<min(start + 2_000, doomed.count)].map(\.id)
            try database.deleteBuilds(batch)
            for id in batch {
                let dir = config.data.build(id).path
                var info = stat()
                guard lstat(dir, &info) == 0 else { continue }
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
    /// Which projects a pruning query looks at.
    enum PruneScope {
        /// These projects only.
        case only([String])
        /// Every project except these.
        case allBut([String])
    }

    /// An ended build the policy may remove, with its ranks among its project's ended builds.
    struct PruneCandidate {
        var id: Int64
        var project: String
        var status: BuildStatus
        /// Whether it finished before the keep_days cutoff.
        var expired: Bool
        /// 1 for the project's newest ended build.
        var seen: Int
        /// How many of the project's ended builds from this one back did not succeed.
        var failedSeen: Int
    }

    /// The ended builds in `scope` that `policy` may remove: ranked per project in SQL, never the
    /// newest successful build of a ref, and only those beyond a limit or older than `cutoff`.
    func pruneCandidates(policy: RetentionConfig, cutoff: Date?, scope: PruneScope) throws -> [PruneCandidate] {
        let succeeded = BuildStatus.succeeded.rawValue
        // A limit that is not set never removes anything: rank beyond any count, date before any build
        // (a Date argument is stored text, so it compares with finished_at as a time).
        let before = cutoff?.databaseValue ?? "".databaseValue
        var arguments: StatementArguments = [
            before, succeeded, succeeded, BuildStatus.queued.rawValue, BuildStatus.running.rawValue,
        ]
        var filter = ""
        switch scope {
        case .only(let names):
            filter = " AND project IN (\(Array(repeating: "?", count: names.count).joined(separator: ",")))"
            arguments += StatementArguments(names)
        case .allBut(let names) where !names.isEmpty:
            filter = " AND project NOT IN (\(Array(repeating: "?", count: names.count).joined(separator: ",")))"
            arguments += StatementArguments(names)
        case .allBut:
            break
        }
        arguments += [succeeded, policy.keepBuilds ?? Int.max, succeeded, policy.keepFailed ?? Int.max]
        let sql = """
            SELECT id, project, status, seen, failed_seen, coalesce(finished_at < ?, 0) AS expired FROM (
                SELECT id, project, ref, status, finished_at,
                       ROW_NUMBER() OVER (PARTITION BY project ORDER BY id DESC) AS seen,
                       ROW_NUMBER() OVER (PARTITION BY project, ref, status = ? ORDER BY id DESC) AS nth_of_kind,
                       SUM(status <> ?) OVER (PARTITION BY project ORDER BY id DESC ROWS UNBOUNDED PRECEDING) AS failed_seen
                FROM build WHERE status NOT IN (?, ?)\(filter))
            WHERE NOT (status = ? AND nth_of_kind = 1)
              AND (seen > ? OR expired OR (status <> ? AND failed_seen > ?))
            """
        return try writer.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                PruneCandidate(
                    id: row["id"], project: row["project"],
                    status: BuildStatus(rawValue: row["status"]) ?? .failed,
                    expired: row["expired"],
                    seen: row["seen"], failedSeen: row["failed_seen"])
            }
        }
    }

    /// Deletes builds (their steps and artifacts go with them) in one transaction; a build that is
    /// queued or running again by now is left alone.
    func deleteBuilds(_ ids: [Int64]) throws {
        guard !ids.isEmpty else { return }
        try writer.write { db in
            try StoredStep.filter(ids.contains(StoredStep.Columns.buildId)).deleteAll(db)
            try StoredArtifact.filter(ids.contains(StoredArtifact.Columns.buildId)).deleteAll(db)
            try StoredBuild.filter(ids.contains(StoredBuild.Columns.id)).ended().deleteAll(db)
        }
    }
}

import Foundation
import GRDB

/// Retention: the ended builds a policy may remove, and removing them.
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
        let before = cutoff.map(StoredDate.value) ?? "".databaseValue
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
        // A build deployed anywhere stays: each target's newest ended deployment names the release
        // it runs and the one before (what a rollback goes to); a queued or running one, its own.
        let sql = """
            WITH live AS (
                SELECT t.new_release, t.previous_release,
                       ROW_NUMBER() OVER (PARTITION BY d.project, t.target ORDER BY t.deployment_id DESC) AS n
                FROM deployment_target t JOIN deployment d ON d.id = t.deployment_id
                WHERE t.status IN ('succeeded', 'rolled_back')
            ), deployed AS (
                SELECT new_release AS id FROM live WHERE n = 1
                UNION SELECT previous_release FROM live WHERE n = 1 AND previous_release IS NOT NULL
                UNION SELECT new_release FROM deployment_target WHERE status IN ('queued', 'running')
                UNION SELECT previous_release FROM deployment_target
                      WHERE status IN ('queued', 'running') AND previous_release IS NOT NULL
            )
            SELECT id, project, status, seen, failed_seen, coalesce(finished_at < ?, 0) AS expired FROM (
                SELECT id, project, ref, status, finished_at,
                       ROW_NUMBER() OVER (PARTITION BY project ORDER BY id DESC) AS seen,
                       ROW_NUMBER() OVER (PARTITION BY project, ref, status = ? ORDER BY id DESC) AS nth_of_kind,
                       SUM(status <> ?) OVER (PARTITION BY project ORDER BY id DESC ROWS UNBOUNDED PRECEDING) AS failed_seen
                FROM build WHERE status NOT IN (?, ?)\(filter))
            WHERE NOT (status = ? AND nth_of_kind = 1)
              AND (seen > ? OR expired OR (status <> ? AND failed_seen > ?))
              AND id NOT IN (SELECT id FROM deployed)
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

import Foundation
import GRDB

/// The deployment history: one row per deployment, one per target of it.
extension AppDatabase {
    /// Records a deployment of `build` to `targets` (each `queued`) and returns its id.
    public func createDeployment(
        project: String, build: Int64, strategy: DeployConfig.Strategy, trigger: String, owner: String,
        targets: [String]
    ) throws -> Int64 {
        try writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO deployment (project, build_id, strategy, status, trigger, created_at, owner)
                    VALUES (?, ?, ?, 'queued', ?, ?, ?)
                    """,
                arguments: [project, build, strategy.rawValue, trigger, StoredDate.value(Date()), owner])
            let id = db.lastInsertedRowID
            for target in targets {
                try db.execute(
                    sql: "INSERT INTO deployment_target (deployment_id, target, status, new_release) VALUES (?, ?, 'queued', ?)",
                    arguments: [id, target, build])
            }
            return id
        }
    }

    /// Marks a deployment running.
    public func startDeployment(_ id: Int64) throws {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE deployment SET status = 'running', started_at = ? WHERE id = ?",
                arguments: [StoredDate.value(Date()), id])
        }
    }

    /// Records that a target's steps started, with the release it ran before.
    public func startDeploymentTarget(_ id: Int64, target: String, previous: Int64?) throws {
        try writer.write { db in
            try db.execute(
                sql: """
                    UPDATE deployment_target SET status = 'running', started_at = ?, previous_release = ?
                    WHERE deployment_id = ? AND target = ?
                    """,
                arguments: [StoredDate.value(Date()), previous, id, target])
        }
    }

    /// Records how a target ended.
    public func finishDeploymentTarget(_ id: Int64, target: String, status: DeployStatus, error: String?) throws {
        try writer.write { db in
            try db.execute(
                sql: """
                    UPDATE deployment_target SET status = ?, finished_at = ?, error = ?
                    WHERE deployment_id = ? AND target = ?
                    """,
                arguments: [status.rawValue, StoredDate.value(Date()), error, id, target])
        }
    }

    /// Records how the deployment ended.
    public func finishDeployment(_ id: Int64, status: DeployStatus, error: String?) throws {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE deployment SET status = ?, finished_at = ?, error = ? WHERE id = ?",
                arguments: [status.rawValue, StoredDate.value(Date()), error, id])
        }
    }

    /// One deployment with its targets.
    public func deployment(_ id: Int64) throws -> DeploymentRecord? {
        try writer.read { db in try Self.deployments(db, where: "d.id = ?", [id], limit: 1).first }
    }

    /// Deployments, newest first, of one project or all.
    public func deployments(project: String? = nil, limit: Int = 50) throws -> [DeploymentRecord] {
        try writer.read { db in
            if let project { return try Self.deployments(db, where: "d.project = ?", [project], limit: limit) }
            return try Self.deployments(db, where: "1", [], limit: limit)
        }
    }

    private static func deployments(
        _ db: Database, where condition: String, _ arguments: [any DatabaseValueConvertible], limit: Int
    ) throws -> [DeploymentRecord] {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT d.id, d.project, d.build_id, d.strategy, d.status, d.trigger, d.created_at, d.started_at,
                  d.finished_at, d.error FROM deployment d WHERE \(condition) ORDER BY d.id DESC LIMIT ?
                """,
            arguments: StatementArguments(arguments + [limit]))
        guard !rows.isEmpty else { return [] }
        let ids: [Int64] = rows.map { $0[0] }
        var targets: [Int64: [DeploymentTargetRecord]] = [:]
        let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ",")
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT deployment_id, target, status, previous_release, new_release, started_at, finished_at, error
                FROM deployment_target WHERE deployment_id IN (\(placeholders)) ORDER BY rowid
                """,
            arguments: StatementArguments(ids))
        {
            let deployment: Int64 = row[0]
            targets[deployment, default: []].append(
                DeploymentTargetRecord(
                    target: row[1], status: DeployStatus(rawValue: row[2]) ?? .failed, previousRelease: row[3],
                    newRelease: row[4], startedAt: try StoredDate.decodeIfPresent(row, atIndex: 5),
                    finishedAt: try StoredDate.decodeIfPresent(row, atIndex: 6), error: row[7]))
        }
        return try rows.map { row in
            let id: Int64 = row[0]
            return DeploymentRecord(
                id: id, project: row[1], build: row[2], strategy: DeployConfig.Strategy(rawValue: row[3]) ?? .serial,
                status: DeployStatus(rawValue: row[4]) ?? .failed, trigger: row[5],
                createdAt: try StoredDate.decode(row, atIndex: 6), startedAt: try StoredDate.decodeIfPresent(row, atIndex: 7),
                finishedAt: try StoredDate.decodeIfPresent(row, atIndex: 8), error: row[9], targets: targets[id] ?? [])
        }
    }

    /// The release each target of `project` runs now, by the history: the newest target row
    /// that ended succeeded (its new release) or rolled back (its previous one).
    public func currentReleases(project: String) throws -> [String: Int64] {
        try writer.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT t.target, t.status, t.new_release, t.previous_release FROM deployment_target t
                    JOIN deployment d ON d.id = t.deployment_id
                    WHERE d.project = ? AND t.status IN ('succeeded', 'rolled_back')
                    ORDER BY t.deployment_id DESC
                    """,
                arguments: [project])
            var current: [String: Int64] = [:]
            for row in rows {
                let target: String = row[0]
                guard current[target] == nil else { continue }
                let status: String = row[1]
                if status == DeployStatus.succeeded.rawValue {
                    current[target] = row[2]
                } else if let previous: Int64 = row[3] {
                    current[target] = previous
                }
            }
            return current
        }
    }

    /// Marks `interrupted` the unfinished deployments (and their unfinished targets) whose gobay
    /// process has died.
    @discardableResult
    public func reapInterruptedDeployments(isAlive: (String) -> Bool) throws -> [(id: Int64, owner: String)] {
        try writer.write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, owner FROM deployment WHERE status IN ('queued', 'running')")
            var dead: [(id: Int64, owner: String)] = []
            for row in rows {
                let owner: String? = row[1]
                guard let owner, !isAlive(owner) else { continue }
                let id: Int64 = row[0]
                dead.append((id, owner))
                let now = StoredDate.value(Date())
                try db.execute(
                    sql: "UPDATE deployment SET status = 'interrupted', finished_at = ?, error = ? WHERE id = ?",
                    arguments: [now, "the gobay process running it stopped", id])
                try db.execute(
                    sql: """
                        UPDATE deployment_target SET status = 'interrupted', finished_at = ?
                        WHERE deployment_id = ? AND status IN ('queued', 'running')
                        """,
                    arguments: [now, id])
            }
            return dead
        }
    }
}

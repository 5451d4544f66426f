import Foundation
import GRDB

/// The server's persistent build queue: queued rows with no owner wait to be claimed.
extension AppDatabase {
    /// A build waiting in the queue.
    public struct QueuedBuild: Sendable, Equatable {
        /// Its id.
        public var id: Int64
        /// Its project.
        public var project: String
        /// The ref to build.
        public var ref: String
        /// The commit to build, if the trigger named one.
        public var commit: String?
        /// An environment the trigger asked for.
        public var environment: String?
    }

    /// Queues a build for the server; when `coalesce`, older waiting builds of the same project
    /// and ref become `superseded`. Returns the new id and the ids it superseded.
    public func enqueueRequest(
        project: String, ref: String, commit: String?, environment: String?, trigger: String, coalesce: Bool,
        notBefore: Date, retryOf: Int64? = nil
    ) throws -> (id: Int64, superseded: [Int64]) {
        try writer.write { db in
            var superseded: [Int64] = []
            if coalesce {
                superseded = try Int64.fetchAll(
                    db,
                    sql: "SELECT id FROM build WHERE status = 'queued' AND owner IS NULL AND project = ? AND ref = ?",
                    arguments: [project, ref])
                try db.execute(
                    sql: """
                        UPDATE build SET status = 'superseded', finished_at = ?,
                          error = 'a newer push to the same ref replaced it'
                        WHERE status = 'queued' AND owner IS NULL AND project = ? AND ref = ?
                        """,
                    arguments: [Timestamp.string(Date()), project, ref])
            }
            try db.execute(
                sql: """
                    INSERT INTO build (project, environment, go_version, commit_sha, ref, status, created_at, trigger,
                      requested_env, not_before, retry_of)
                    VALUES (?, ?, '', ?, ?, 'queued', ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    project, environment ?? "", commit ?? "", ref, Timestamp.string(Date()), trigger, environment,
                    Timestamp.string(notBefore), retryOf,
                ])
            return (db.lastInsertedRowID, superseded)
        }
    }

    /// Waiting builds that may start now, oldest first.
    public func claimable(now: Date = Date()) throws -> [QueuedBuild] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, project, ref, commit_sha, requested_env FROM build
                    WHERE status = 'queued' AND owner IS NULL AND (not_before IS NULL OR not_before <= ?)
                    ORDER BY id
                    """,
                arguments: [Timestamp.string(now)]
            ).map { row in
                let commit: String = row["commit_sha"]
                return QueuedBuild(
                    id: row["id"], project: row["project"], ref: row["ref"], commit: commit.isEmpty ? nil : commit,
                    environment: row["requested_env"])
            }
        }
    }

    /// Claims a waiting build for `owner`; false when another process claimed or canceled it first.
    public func claim(_ id: Int64, owner: String) throws -> Bool {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE build SET owner = ? WHERE id = ? AND status = 'queued' AND owner IS NULL",
                arguments: [owner, id])
            return db.changesCount == 1
        }
    }

    /// How many builds wait in the queue, per requested environment ("" when chosen later).
    public func queueDepth() throws -> Int {
        try writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM build WHERE status = 'queued'") ?? 0 }
    }

    /// Build counts by status and environment.
    public func countsByStatus() throws -> [(status: String, environment: String, count: Int)] {
        try writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT status, environment, COUNT(*) AS n FROM build GROUP BY status, environment"
            ).map { ($0["status"], $0["environment"], $0["n"]) }
        }
    }

    /// Records what planning resolved for a server build.
    public func recordPlan(_ id: Int64, environment: String, goVersion: String, commit: String, ref: String) throws {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE build SET environment = ?, go_version = ?, commit_sha = ?, ref = ? WHERE id = ?",
                arguments: [environment, goVersion, commit, ref, id])
        }
    }

    /// Cancels a build that is still waiting unclaimed; returns whether it was.
    public func cancelQueued(_ id: Int64) throws -> Bool {
        try writer.write { db in
            try db.execute(
                sql: """
                    UPDATE build SET status = 'canceled', finished_at = ?, error = 'canceled while queued'
                    WHERE id = ? AND status = 'queued' AND owner IS NULL
                    """,
                arguments: [Timestamp.string(Date()), id])
            return db.changesCount == 1
        }
    }

    /// Interrupted server builds not yet run again: each is queued once more, and marked so it
    /// never is again. A build that was itself a retry is not retried.
    public func requeueInterrupted(notBefore: Date) throws -> [(old: Int64, new: Int64)] {
        let rows = try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, project, ref, commit_sha, requested_env FROM build
                    WHERE status = 'interrupted' AND retried = 0 AND retry_of IS NULL AND trigger != 'cli'
                    ORDER BY id
                    """)
        }
        var pairs: [(Int64, Int64)] = []
        for row in rows {
            let old: Int64 = row["id"]
            let commit: String = row["commit_sha"]
            let new = try enqueueRequest(
                project: row["project"], ref: row["ref"], commit: commit.isEmpty ? nil : commit,
                environment: row["requested_env"], trigger: "retry", coalesce: false, notBefore: notBefore, retryOf: old
            ).id
            try writer.write { db in try db.execute(sql: "UPDATE build SET retried = 1 WHERE id = ?", arguments: [old]) }
            pairs.append((old, new))
        }
        return pairs
    }

    /// Claims a delivery id before acting on it. Returns nil when this is its first arrival; else
    /// the stored answer (status 0 while the first arrival is still being handled).
    public func claimDelivery(sender: String, id: String) throws -> (status: Int, body: String)? {
        try writer.write { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO delivery (sender, delivery_id, status, body, created_at) VALUES (?, ?, 0, '', ?)
                    """,
                arguments: [sender, id, Timestamp.string(Date())])
            if db.changesCount == 1 { return nil }
            let row = try Row.fetchOne(
                db, sql: "SELECT status, body FROM delivery WHERE sender = ? AND delivery_id = ?", arguments: [sender, id])
            return row.map { ($0["status"], $0["body"]) }
        }
    }

    /// Stores the answer given to a claimed delivery, to replay on redelivery.
    public func completeDelivery(sender: String, id: String, status: Int, body: String) throws {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE delivery SET status = ?, body = ? WHERE sender = ? AND delivery_id = ?",
                arguments: [status, body, sender, id])
        }
    }

    /// Forgets a claimed delivery whose handling failed, so a redelivery is handled afresh.
    public func releaseDelivery(sender: String, id: String) throws {
        try writer.write { db in
            try db.execute(
                sql: "DELETE FROM delivery WHERE sender = ? AND delivery_id = ? AND status = 0", arguments: [sender, id])
        }
    }
}

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

    /// A build to put in the queue.
    public struct Enqueue: Sendable {
        /// The project.
        public var project: String
        /// The ref (short branch or tag name, or a full ref).
        public var ref: String
        /// The commit, when the trigger named one.
        public var commit: String?
        /// An environment the trigger asked for.
        public var environment: String?
        /// cli, api, webhook or retry.
        public var trigger: String
        /// Whether older waiting builds of the same project and ref become `superseded`.
        public var coalesce: Bool
        /// When it may start at the earliest.
        public var notBefore: Date
        /// The interrupted build this one runs again.
        public var retryOf: Int64?

        /// Creates a request.
        public init(
            project: String, ref: String, commit: String?, environment: String?, trigger: String, coalesce: Bool,
            notBefore: Date, retryOf: Int64? = nil
        ) {
            self.project = project
            self.ref = ref
            self.commit = commit
            self.environment = environment
            self.trigger = trigger
            self.coalesce = coalesce
            self.notBefore = notBefore
            self.retryOf = retryOf
        }
    }

    /// Queues a build for the server; when `coalesce`, older waiting builds of the same project
    /// and ref become `superseded`. Returns the new id and the ids it superseded.
    public func enqueueRequest(
        project: String, ref: String, commit: String?, environment: String?, trigger: String, coalesce: Bool,
        notBefore: Date, retryOf: Int64? = nil
    ) throws -> (id: Int64, superseded: [Int64]) {
        let request = Enqueue(
            project: project, ref: ref, commit: commit, environment: environment, trigger: trigger, coalesce: coalesce,
            notBefore: notBefore, retryOf: retryOf)
        return try writer.write { db in try Self.insert(request, db) }
    }

    /// Handles a webhook delivery in one transaction: a delivery id seen before returns its
    /// stored answer and queues nothing; otherwise the builds are queued and the answer that
    /// `answer` makes of them is stored with the id. Runs off the caller's thread.
    public func acceptDelivery(
        sender: String, id: String?, builds: [Enqueue],
        answer: @escaping @Sendable ([(id: Int64, superseded: [Int64])]) -> String
    ) async throws -> (body: String, duplicate: Bool, queued: [(id: Int64, superseded: [Int64])]) {
        try await writer.write { db in
            if let id,
                let stored = try String.fetchOne(
                    db, sql: "SELECT body FROM delivery WHERE sender = ? AND delivery_id = ?", arguments: [sender, id])
            {
                return (stored, true, [])
            }
            let queued = try builds.map { try Self.insert($0, db) }
            let body = answer(queued)
            if let id {
                try db.execute(
                    sql: "INSERT INTO delivery (sender, delivery_id, status, body, created_at) VALUES (?, ?, 202, ?, ?)",
                    arguments: [sender, id, body, Timestamp.string(Date())])
            }
            return (body, false, queued)
        }
    }

    private static func insert(_ request: Enqueue, _ db: Database) throws -> (id: Int64, superseded: [Int64]) {
        var superseded: [Int64] = []
        if request.coalesce {
            superseded = try Int64.fetchAll(
                db, sql: "SELECT id FROM build WHERE status = 'queued' AND owner IS NULL AND project = ? AND ref = ?",
                arguments: [request.project, request.ref])
            if !superseded.isEmpty {
                try db.execute(
                    sql: """
                        UPDATE build SET status = 'superseded', finished_at = ?,
                          error = 'a newer push to the same ref replaced it'
                        WHERE status = 'queued' AND owner IS NULL AND project = ? AND ref = ?
                        """,
                    arguments: [Timestamp.string(Date()), request.project, request.ref])
            }
        }
        try db.execute(
            sql: """
                INSERT INTO build (project, environment, go_version, commit_sha, ref, status, created_at, trigger,
                  requested_env, not_before, retry_of)
                VALUES (?, ?, '', ?, ?, 'queued', ?, ?, ?, ?, ?)
                """,
            arguments: [
                request.project, request.environment ?? "", request.commit ?? "", request.ref, Timestamp.string(Date()),
                request.trigger, request.environment, Timestamp.string(request.notBefore), request.retryOf,
            ])
        return (db.lastInsertedRowID, superseded)
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
}

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

    /// What planning resolved for a build: where it runs.
    public struct Planned: Sendable, Equatable {
        /// The environment.
        public var environment: String
        /// The exact Go version.
        public var goVersion: String

        /// Creates a plan.
        public init(environment: String, goVersion: String) {
            self.environment = environment
            self.goVersion = goVersion
        }
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
        /// What started it.
        public var trigger: Trigger
        /// Whether older waiting builds of the same project and ref become `superseded`.
        public var coalesce: Bool
        /// When it may start at the earliest; nil: at once.
        public var notBefore: Date?
        /// The interrupted build this one runs again.
        public var retryOf: Int64?
        /// Where it runs, when it is planned already (`gobay build`); nil until then.
        public var planned: Planned?
        /// The process running it, when one does already; nil: it waits to be claimed.
        public var owner: String?
        /// The library push that asked for it (trigger `library`).
        public var cause: LibraryCause?

        /// Creates a request.
        public init(
            project: String, ref: String, commit: String?, environment: String?, trigger: Trigger, coalesce: Bool,
            notBefore: Date?, retryOf: Int64? = nil, planned: Planned? = nil, owner: String? = nil,
            cause: LibraryCause? = nil
        ) {
            self.project = project
            self.ref = ref
            self.commit = commit
            self.environment = environment
            self.trigger = trigger
            self.coalesce = coalesce
            self.notBefore = notBefore
            self.retryOf = retryOf
            self.planned = planned
            self.owner = owner
            self.cause = cause
        }
    }

    /// Queues a build; when `coalesce`, older waiting builds of the same project and ref become
    /// `superseded`. Returns the new id and the ids it superseded.
    public func enqueue(_ request: Enqueue) throws -> (id: Int64, superseded: [Int64]) {
        try writer.write { db in try Self.insert(request, db) }
    }

    /// Queues a build; when `coalesce`, older waiting builds of the same project and ref become
    /// `superseded`. Returns the new id and the ids it superseded.
    public func enqueue(_ request: Enqueue) async throws -> (id: Int64, superseded: [Int64]) {
        try await writer.write { db in try Self.insert(request, db) }
    }

    /// Handles a webhook delivery in one transaction: a delivery id seen before returns its
    /// stored answer and queues nothing; otherwise the builds are queued and the answer that
    /// `answer` makes of them is stored with the id. Waits for SQLite off the caller's thread.
    public func acceptDelivery(
        sender: String, id: String?, builds: [Enqueue], trustedBy: String? = nil,
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
                    sql:
                        "INSERT INTO delivery (sender, delivery_id, status, body, created_at, trusted_by) VALUES (?, ?, 202, ?, ?, ?)",
                    arguments: [sender, id, body, StoredDate.value(Date()), trustedBy])
            }
            return (body, false, queued)
        }
    }

    /// The stored answer to delivery `id` of `sender`, and whose secret verified it (nil for a
    /// delivery stored before gobay kept that).
    public func storedDelivery(sender: String, id: String) async throws -> (body: String, trustedBy: String?)? {
        try await writer.read { db in
            try Row.fetchOne(
                db, sql: "SELECT body, trusted_by FROM delivery WHERE sender = ? AND delivery_id = ?",
                arguments: [sender, id]
            ).map { ($0[0], $0[1]) }
        }
    }

    private static func insert(_ request: Enqueue, _ db: Database) throws -> (id: Int64, superseded: [Int64]) {
        typealias Columns = StoredBuild.Columns
        let now = Date()
        var superseded: [Int64] = []
        if request.coalesce {
            let older = StoredBuild.all().waiting().filter(
                Columns.project == request.project && Columns.ref == request.ref)
            superseded = try Int64.fetchAll(db, older.select(Columns.id))
            if !superseded.isEmpty {
                try older.updateAll(
                    db, Columns.status.set(to: BuildStatus.superseded),
                    Columns.finishedAt.set(to: StoredDate.value(now)),
                    Columns.error.set(to: "a newer push to the same ref replaced it"))
            }
        }
        var build = StoredBuild(
            project: request.project, environment: request.planned?.environment, goVersion: request.planned?.goVersion,
            commit: request.commit ?? "", ref: request.ref, status: .queued, createdAt: now, owner: request.owner,
            trigger: request.trigger, retryOf: request.retryOf, retried: false, requestedEnv: request.environment,
            notBefore: request.notBefore ?? now, causeLibrary: request.cause?.library, causeCommit: request.cause?.commit)
        try build.insert(db)
        return (build.id ?? db.lastInsertedRowID, superseded)
    }

    /// Up to `limit` waiting builds that may start now, of projects not in `excluding` (those
    /// running), in the order they became startable. One range of the `build_claimable` index,
    /// however deep the queue: every waiting build has a `not_before` (its creation when the
    /// trigger set none).
    public func claimable(now: Date = Date(), excluding busy: Set<String> = [], limit: Int = 64) async throws
        -> [QueuedBuild]
    {
        try await writer.read { db in try Self.claimable(now: now, excluding: busy, limit: limit, db) }
    }

    /// The request `claimable` runs (its query plan is tested).
    static func claimableRequest(now: Date, excluding busy: Set<String>, limit: Int) -> QueryInterfaceRequest<StoredBuild> {
        typealias Columns = StoredBuild.Columns
        var request = StoredBuild.all().waiting().filter(Columns.notBefore <= StoredDate.value(now))
        if !busy.isEmpty { request = request.filter(!busy.sorted().contains(Columns.project)) }
        return request.order(Columns.notBefore, Columns.id).limit(limit)
    }

    static func claimable(now: Date, excluding busy: Set<String>, limit: Int, _ db: Database) throws -> [QueuedBuild] {
        try claimableRequest(now: now, excluding: busy, limit: limit)
            .fetchAll(db)
            .compactMap { build in
                guard let id = build.id else { return nil }
                return QueuedBuild(
                    id: id, project: build.project, ref: build.ref,
                    commit: build.commit.isEmpty ? nil : build.commit,
                    environment: build.requestedEnv)
            }
    }

    /// Claims a waiting build for `owner`; false when another process claimed or canceled it first.
    /// Completes even when the task is cancelled, so a claimed build is always handed on.
    public func claim(_ id: Int64, owner: String) async throws -> Bool {
        try await writeToCompletion { db in
            try StoredBuild.filter(key: id).waiting().updateAll(db, StoredBuild.Columns.owner.set(to: owner)) == 1
        }
    }

    /// How many builds wait in the queue.
    public func queueDepth() async throws -> Int {
        try await writer.read { db in
            try StoredBuild.filter(StoredBuild.Columns.status == BuildStatus.queued).fetchCount(db)
        }
    }

    /// Build counts by status and environment; nil for builds not planned yet.
    public func countsByStatus() async throws -> [(status: BuildStatus, environment: String?, count: Int)] {
        // The summary the triggers keep (migration v10): a handful of rows, whatever the history.
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT status, NULLIF(environment, ''), n FROM build_count WHERE n > 0")
                .compactMap { row in
                    guard let status = BuildStatus(rawValue: row[0]) else { return nil }
                    return (status, row[1], row[2])
                }
        }
    }

    /// Queued and running builds per environment, in one query over the unfinished builds (an
    /// index range, whatever the history's length). A build not planned yet counts in the
    /// environment it asked for, else in its project's (`projectEnvironments`); a project whose
    /// go.mod chooses has none until planned.
    public func activeCounts(projectEnvironments: [String: String] = [:]) async throws
        -> [String: (queued: Int, running: Int)]
    {
        try await writer.read { db in
            // Range reads of the covering index `build_active`: builds with an environment
            // (planned, or asked for one) by environment, and the rest by project, which the
            // config maps to its environment. No temporary sort, however many wait.
            // Each a range of the index: planned, then asked for an environment, then neither.
            let planned = try Row.fetchAll(
                db,
                sql: """
                    SELECT environment, status, COUNT(*) FROM build
                    WHERE status IN (?, ?) AND environment IS NOT NULL GROUP BY status, environment
                    """,
                arguments: [BuildStatus.queued, BuildStatus.running])
                + Row.fetchAll(
                    db,
                    sql: """
                        SELECT requested_env, status, COUNT(*) FROM build
                        WHERE status IN (?, ?) AND environment IS NULL AND requested_env IS NOT NULL
                        GROUP BY status, requested_env
                        """,
                    arguments: [BuildStatus.queued, BuildStatus.running])
            let unplanned = try Row.fetchAll(
                db,
                sql: """
                    SELECT project, status, COUNT(*) FROM build
                    WHERE status IN (?, ?) AND environment IS NULL AND requested_env IS NULL
                    GROUP BY status, project
                    """,
                arguments: [BuildStatus.queued, BuildStatus.running])
            var counts: [String: (queued: Int, running: Int)] = [:]
            func add(_ env: String, _ status: String, _ n: Int) {
                if status == BuildStatus.queued.rawValue {
                    counts[env, default: (0, 0)].queued += n
                } else {
                    counts[env, default: (0, 0)].running += n
                }
            }
            for row in planned { add(row[0], row[1], row[2]) }
            for row in unplanned {
                if let env = projectEnvironments[row[0] as String] { add(env, row[1], row[2]) }
            }
            return counts
        }
    }

    /// Cancels a build that is still waiting unclaimed; returns whether it was.
    public func cancelQueued(_ id: Int64) throws -> Bool {
        try writer.write { db in try Self.cancelQueued(id, db) }
    }

    /// Cancels a build that is still waiting unclaimed; returns whether it was.
    public func cancelQueued(_ id: Int64) async throws -> Bool {
        try await writer.write { db in try Self.cancelQueued(id, db) }
    }

    private static func cancelQueued(_ id: Int64, _ db: Database) throws -> Bool {
        typealias Columns = StoredBuild.Columns
        return try StoredBuild.filter(key: id).waiting().updateAll(
            db, Columns.status.set(to: BuildStatus.canceled), Columns.finishedAt.set(to: StoredDate.value(Date())),
            Columns.error.set(to: "canceled while queued")) == 1
    }

    /// Interrupted server builds not yet run again: each is queued once more, and marked so it
    /// never is again. A build that was itself a retry is not retried.
    public func requeueInterrupted(notBefore: Date) throws -> [(old: Int64, new: Int64)] {
        try writer.write { db in
            typealias Columns = StoredBuild.Columns
            let interrupted = try StoredBuild.filter(Columns.status == BuildStatus.interrupted)
                .filter(Columns.retried == false)
                .filter(Columns.retryOf == nil)
                .filter(Columns.trigger != Trigger.cli)
                .order(Columns.id)
                .fetchAll(db)
            var pairs: [(Int64, Int64)] = []
            for old in interrupted {
                guard let oldID = old.id else { continue }
                let new = try Self.insert(
                    Enqueue(
                        project: old.project, ref: old.ref, commit: old.commit.isEmpty ? nil : old.commit,
                        environment: old.requestedEnv, trigger: .retry, coalesce: false, notBefore: notBefore,
                        retryOf: oldID),
                    db)
                try StoredBuild.filter(key: oldID).updateAll(db, Columns.retried.set(to: true))
                pairs.append((oldID, new.id))
            }
            return pairs
        }
    }
}

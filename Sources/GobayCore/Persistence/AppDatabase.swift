import Foundation
import GRDB

/// The build history in `<data_dir>/gobay.sqlite` (WAL mode): builds, steps and artifacts.
/// Several gobay processes share it; every change is one transaction.
public struct AppDatabase: Sendable {
    let writer: DatabasePool

    /// Opens (creating and migrating) the database at `path`.
    public init(path: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var config = Configuration()
        config.busyMode = .timeout(30)
        // WAL with synchronous=NORMAL: a commit is durable against a crash of any gobay process
        // (the WAL is in the OS's hands at once); only a power loss before the next checkpoint can
        // lose the newest commits. It saves an fsync per commit on the webhook path.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        // Two gobay processes may open a new data dir at once: switching it to WAL and migrating
        // happen one process at a time (SQLite answers "database is locked" to a second switcher).
        let lock = try FileLock(path: path + ".migrate.lock")
        lock.lockExclusive()
        defer { lock.unlock() }
        try Self.refuseEmptyFileBesideBuilds(path)
        do {
            writer = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(writer)
        } catch let error as DatabaseError {
            let hint: String
            switch StorageFailure(error) {
            case .some(let failure): hint = failure.hint(path: path)
            case .none: hint = "check that the data dir is writable"
            }
            throw GobayError.failure(
                "cannot open the build history \(path): \(error.message ?? "\(error)")", hint: hint)
        }
    }

    /// SQLite takes a 0-byte file for a new database, so a history truncated to nothing would
    /// start again at build 1 and append to the logs of the old builds. Refused while `builds/`
    /// beside it holds any build.
    static func refuseEmptyFileBesideBuilds(_ path: String) throws {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            (attributes[.size] as? NSNumber)?.intValue == 0
        else { return }
        let buildsDir = DataDirectory((path as NSString).deletingLastPathComponent).builds
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: buildsDir)) ?? []
        let builds = entries.filter { name in
            var isDirectory: ObjCBool = false
            return Int64(name) != nil
                && FileManager.default.fileExists(atPath: buildsDir + "/" + name, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }
        guard !builds.isEmpty else { return }
        throw GobayError.failure(
            "the build history \(path) is empty (0 bytes) but \(buildsDir) holds \(builds.count) builds: the history is damaged",
            hint: "restore \(path) from a backup; to start a new history instead, move both \(path) and \(buildsDir) aside")
    }

    /// Opens the database of a data dir.
    public init(dataDir: String) throws { try self.init(path: DataDirectory(dataDir).database) }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-builds") { db in
            try db.create(table: "build") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("project", .text).notNull().indexed()
                t.column("environment", .text).notNull()
                t.column("go_version", .text).notNull()
                t.column("commit_sha", .text).notNull()
                t.column("ref", .text).notNull()
                t.column("status", .text).notNull().indexed()
                t.column("created_at", .text).notNull()
                t.column("started_at", .text)
                t.column("finished_at", .text)
                t.column("error", .text)
                t.column("owner", .text)
            }
            try db.create(table: "step") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("build_id", .integer).notNull().indexed().references("build", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("status", .text).notNull()
                t.column("started_at", .text).notNull()
                t.column("finished_at", .text)
            }
            try db.create(table: "artifact") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("build_id", .integer).notNull().indexed().references("build", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("path", .text).notNull()
                t.column("sha256", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("goos", .text).notNull()
                t.column("goarch", .text).notNull()
            }
        }
        migrator.registerMigration("v2-queue") { db in
            try db.alter(table: "build") { t in
                t.add(column: "trigger", .text).notNull().defaults(to: "cli")
                t.add(column: "retry_of", .integer)
                t.add(column: "retried", .boolean).notNull().defaults(to: false)
                t.add(column: "requested_env", .text)
                t.add(column: "not_before", .text)
            }
            try db.create(index: "build_queue", on: "build", columns: ["status", "project", "ref"])
            try db.create(table: "delivery") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("sender", .text).notNull()
                t.column("delivery_id", .text).notNull()
                t.column("status", .integer).notNull()
                t.column("body", .text).notNull()
                t.column("created_at", .text).notNull()
                t.uniqueKey(["sender", "delivery_id"])
            }
        }
        migrator.registerMigration("v3-claimable-index") { db in
            // The scheduler asks for waiting builds whose quiet period is over many times a second.
            try db.create(index: "build_claimable", on: "build", columns: ["status", "not_before"])
        }
        migrator.registerMigration("v4-test-summary") { db in
            try db.alter(table: "build") { t in t.add(column: "test_summary", .text) }
        }
        return migrator
    }

    // MARK: writes

    /// Records a new queued build and returns its id.
    public func enqueue(
        project: String, environment: String, goVersion: String, commit: String, ref: String, owner: String
    ) throws
        -> Int64
    {
        try writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO build (project, environment, go_version, commit_sha, ref, status, created_at, owner)
                    VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)
                    """,
                arguments: [
                    project, environment, goVersion, commit, ref, Timestamp.string(Date()), owner,
                ])
            return db.lastInsertedRowID
        }
    }

    /// Marks a queued build running.
    public func markRunning(_ id: Int64) throws {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE build SET status = 'running', started_at = ? WHERE id = ?",
                arguments: [Timestamp.string(Date()), id])
        }
    }

    /// Ends a build with a final status, and ends any step still running with it.
    public func finish(_ id: Int64, status: BuildStatus, error: String?) throws {
        let now = Timestamp.string(Date())
        try writer.write { db in
            try db.execute(
                sql: """
                    UPDATE build SET status = ?, error = ?, finished_at = ?, started_at = COALESCE(started_at, ?)
                    WHERE id = ?
                    """,
                arguments: [status.rawValue, error, now, now, id])
            try db.execute(
                sql: "UPDATE step SET status = ?, finished_at = ? WHERE build_id = ? AND finished_at IS NULL",
                arguments: [status.rawValue, now, id])
        }
    }

    /// Records that a step started; returns its row id.
    public func startStep(_ buildID: Int64, name: String) throws -> Int64 {
        try writer.write { db in
            try db.execute(
                sql: "INSERT INTO step (build_id, name, status, started_at) VALUES (?, ?, 'running', ?)",
                arguments: [buildID, name, Timestamp.string(Date())])
            return db.lastInsertedRowID
        }
    }

    /// Records how a step ended.
    public func finishStep(_ stepID: Int64, status: String) throws {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE step SET status = ?, finished_at = ? WHERE id = ?",
                arguments: [status, Timestamp.string(Date()), stepID])
        }
    }

    /// Records what a build's tests did.
    public func setTestSummary(_ buildID: Int64, _ summary: TestSummary) throws {
        let json = String(decoding: try JSONEncoder().encode(summary), as: UTF8.self)
        try writer.write { db in
            try db.execute(sql: "UPDATE build SET test_summary = ? WHERE id = ?", arguments: [json, buildID])
        }
    }

    /// Records a build's artifacts in one transaction.
    public func addArtifacts(_ buildID: Int64, _ artifacts: [ArtifactRecord]) throws {
        try writer.write { db in
            for a in artifacts {
                try db.execute(
                    sql: """
                        INSERT INTO artifact (build_id, name, path, sha256, size, goos, goarch)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [buildID, a.name, a.path, a.sha256, a.size, a.goos, a.goarch])
            }
        }
    }

    /// Marks `interrupted` every unfinished build whose owner is gone, as told by `isAlive`.
    @discardableResult
    public func reapInterrupted(isAlive: (String) -> Bool) throws -> [(Int64, String)] {
        let candidates = try writer.read { db in
            // Unclaimed queued builds (no owner) belong to the server's persistent queue, not to a process.
            try Row.fetchAll(
                db, sql: "SELECT id, owner FROM build WHERE status IN ('queued', 'running') AND owner IS NOT NULL")
        }
        let dead: [(Int64, String)] = candidates.compactMap { row in
            let owner: String = row["owner"] ?? ""
            return isAlive(owner) ? nil : (row["id"], owner)
        }
        for (id, _) in dead {
            try writer.write { db in
                let now = Timestamp.string(Date())
                try db.execute(
                    sql: """
                        UPDATE build SET status = 'interrupted', finished_at = ?,
                          error = 'the gobay process running it ended before it finished'
                        WHERE id = ? AND status IN ('queued', 'running')
                        """,
                    arguments: [now, id])
                try db.execute(
                    sql: "UPDATE step SET status = 'interrupted', finished_at = ? WHERE build_id = ? AND finished_at IS NULL",
                    arguments: [now, id])
            }
        }
        return dead
    }

    // MARK: reads

    /// The build with `id`, or nil.
    public func build(_ id: Int64) throws -> BuildRecord? {
        try writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM build WHERE id = ?", arguments: [id]) else {
                return nil
            }
            return try Self.record(row, db)
        }
    }

    /// Builds newest first, optionally of one project, in one status, or older than build `before`.
    public func builds(project: String? = nil, status: BuildStatus? = nil, before: Int64? = nil, limit: Int = 50) throws
        -> [BuildRecord]
    {
        try writer.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let project {
                conditions.append("project = ?")
                _ = arguments.append(contentsOf: [project])
            }
            if let status {
                conditions.append("status = ?")
                _ = arguments.append(contentsOf: [status.rawValue])
            }
            if let before {
                conditions.append("id < ?")
                _ = arguments.append(contentsOf: [before])
            }
            _ = arguments.append(contentsOf: [limit])
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM build \(whereClause) ORDER BY id DESC LIMIT ?", arguments: arguments)
            guard let newest = rows.first.map({ $0["id"] as Int64 }), let oldest = rows.last.map({ $0["id"] as Int64 })
            else { return [] }
            // Steps and artifacts of every listed build in one query each, not two per build.
            let ids = Set(rows.map { $0["id"] as Int64 })
            var steps: [Int64: [StepRecord]] = [:]
            for s in try Row.fetchAll(
                db, sql: "SELECT * FROM step WHERE build_id BETWEEN ? AND ? ORDER BY id", arguments: [oldest, newest])
            where ids.contains(s["build_id"]) {
                steps[s["build_id"], default: []].append(Self.step(s))
            }
            var artifacts: [Int64: [ArtifactRecord]] = [:]
            for a in try Row.fetchAll(
                db, sql: "SELECT * FROM artifact WHERE build_id BETWEEN ? AND ? ORDER BY goos = '', id",
                arguments: [oldest, newest])
            where ids.contains(a["build_id"]) {
                artifacts[a["build_id"], default: []].append(Self.artifact(a))
            }
            return rows.map { row in
                let id: Int64 = row["id"]
                return Self.record(row, steps: steps[id] ?? [], artifacts: artifacts[id] ?? [])
            }
        }
    }

    static func record(_ row: Row, _ db: Database) throws -> BuildRecord {
        let id: Int64 = row["id"]
        // Binaries first, then reports (junit.xml, which has no target).
        let artifacts = try Row.fetchAll(
            db, sql: "SELECT * FROM artifact WHERE build_id = ? ORDER BY goos = '', id", arguments: [id]
        ).map(artifact)
        let steps = try Row.fetchAll(db, sql: "SELECT * FROM step WHERE build_id = ? ORDER BY id", arguments: [id]).map(step)
        return record(row, steps: steps, artifacts: artifacts)
    }

    static func artifact(_ a: Row) -> ArtifactRecord {
        ArtifactRecord(
            name: a["name"], path: a["path"], sha256: a["sha256"], size: a["size"], goos: a["goos"], goarch: a["goarch"])
    }

    static func step(_ s: Row) -> StepRecord {
        StepRecord(name: s["name"], status: s["status"], startedAt: s["started_at"], finishedAt: s["finished_at"])
    }

    static func record(_ row: Row, steps: [StepRecord], artifacts: [ArtifactRecord]) -> BuildRecord {
        let id: Int64 = row["id"]
        return BuildRecord(
            id: id, project: row["project"], environment: row["environment"], goVersion: row["go_version"],
            commit: row["commit_sha"], ref: row["ref"], status: BuildStatus(rawValue: row["status"]) ?? .failed,
            createdAt: row["created_at"], startedAt: row["started_at"], finishedAt: row["finished_at"],
            error: row["error"], artifacts: artifacts, steps: steps, trigger: row["trigger"] ?? "cli",
            retryOf: row["retry_of"],
            tests: (row["test_summary"] as String?).flatMap { try? JSONDecoder().decode(TestSummary.self, from: Data($0.utf8)) })
    }
}

import Foundation
import GRDB

/// Builds as `gobay build` and the build threads record them: one transaction per change.
extension AppDatabase {
    // MARK: writes

    /// Records a build `gobay build` planned and runs in this process (`owner`); returns its id.
    public func enqueue(
        project: String, environment: String, goVersion: String, commit: String, ref: String, owner: String,
        trigger: Trigger = .cli, cause: LibraryCause? = nil
    ) throws -> Int64 {
        try enqueue(
            Enqueue(
                project: project, ref: ref, commit: commit, environment: nil, trigger: trigger, coalesce: false,
                notBefore: nil, planned: Planned(environment: environment, goVersion: goVersion), owner: owner,
                cause: cause)
        ).id
    }

    /// Marks a queued build running.
    public func markRunning(_ id: Int64) throws {
        try writer.write { db in try Self.markRunning(id, db) }
    }

    /// Marks a queued build running; completes even when the task is cancelled.
    public func markRunning(_ id: Int64) async throws {
        try await writeToCompletion { db in try Self.markRunning(id, db) }
    }

    private static func markRunning(_ id: Int64, _ db: Database) throws {
        try StoredBuild.filter(key: id).updateAll(
            db, StoredBuild.Columns.status.set(to: BuildStatus.running), StoredBuild.Columns.startedAt.set(to: StoredDate.value(Date())))
    }

    /// Ends a build with a final status, and ends any step still running with it.
    public func finish(_ id: Int64, status: BuildStatus, error: String?) throws {
        try writer.write { db in try Self.finish(id, status: status, error: error, db) }
    }

    /// Ends a build with a final status, and ends any step still running with it; completes even
    /// when the task is cancelled (a canceled build records that it was).
    public func finish(_ id: Int64, status: BuildStatus, error: String?) async throws {
        try await writeToCompletion { db in try Self.finish(id, status: status, error: error, db) }
    }

    private static func finish(_ id: Int64, status: BuildStatus, error: String?, _ db: Database) throws {
        let now = Date()
        typealias Columns = StoredBuild.Columns
        try StoredBuild.filter(key: id).updateAll(
            db, Columns.status.set(to: status), Columns.error.set(to: error), Columns.finishedAt.set(to: StoredDate.value(now)),
            Columns.startedAt.set(to: Columns.startedAt ?? StoredDate.value(now)))
        try endSteps(ofBuild: id, status: StepStatus(endingWith: status), at: now, db)
    }

    /// Ends the steps of build `id` still running.
    static func endSteps(ofBuild id: Int64, status: StepStatus, at date: Date, _ db: Database) throws {
        try StoredStep.filter(StoredStep.Columns.buildId == id && StoredStep.Columns.finishedAt == nil).updateAll(
            db, StoredStep.Columns.status.set(to: status), StoredStep.Columns.finishedAt.set(to: StoredDate.value(date)))
    }

    /// Records that a step started; returns its row id.
    public func startStep(_ buildID: Int64, name: String) throws -> Int64 {
        try writer.write { db in
            var step = StoredStep(buildId: buildID, name: name, status: .running, startedAt: Date())
            try step.insert(db)
            return step.id ?? db.lastInsertedRowID
        }
    }

    /// Records how a step ended.
    public func finishStep(_ stepID: Int64, status: StepStatus) throws {
        try writer.write { db in
            _ = try StoredStep.filter(key: stepID).updateAll(
                db, StoredStep.Columns.status.set(to: status), StoredStep.Columns.finishedAt.set(to: StoredDate.value(Date())))
        }
    }

    /// Records what a build's tests did.
    public func setTestSummary(_ buildID: Int64, _ summary: TestSummary) throws {
        let json = String(decoding: try JSONEncoder().encode(summary), as: UTF8.self)
        try writer.write { db in
            _ = try StoredBuild.filter(key: buildID).updateAll(db, StoredBuild.Columns.testSummary.set(to: json))
        }
    }

    /// Records a build's artifacts in one transaction.
    public func addArtifacts(_ buildID: Int64, _ artifacts: [ArtifactRecord]) throws {
        try writer.write { db in
            for artifact in artifacts {
                var row = StoredArtifact(buildId: buildID, artifact)
                try row.insert(db)
            }
        }
    }

    /// Records what planning resolved for a server build.
    public func recordPlan(_ id: Int64, environment: String, goVersion: String, commit: String, ref: String) throws {
        try writer.write { db in
            typealias Columns = StoredBuild.Columns
            try StoredBuild.filter(key: id).updateAll(
                db, Columns.environment.set(to: environment), Columns.goVersion.set(to: goVersion),
                Columns.commit.set(to: commit), Columns.ref.set(to: ref))
        }
    }

    /// Marks `interrupted` every unfinished build whose owner is gone, as told by `isAlive`.
    @discardableResult
    public func reapInterrupted(isAlive: (String) -> Bool) throws -> [(Int64, String)] {
        // Unclaimed queued builds (no owner) belong to the server's persistent queue, not to a process.
        let candidates = try writer.read { db in
            try StoredBuild.all().unfinished().filter(StoredBuild.Columns.owner != nil).fetchAll(db)
        }
        let dead: [(Int64, String)] = candidates.compactMap { build in
            guard let id = build.id, let owner = build.owner, !isAlive(owner) else { return nil }
            return (id, owner)
        }
        for (id, _) in dead {
            try writer.write { db in
                let now = Date()
                typealias Columns = StoredBuild.Columns
                try StoredBuild.filter(key: id).unfinished().updateAll(
                    db, Columns.status.set(to: BuildStatus.interrupted), Columns.finishedAt.set(to: StoredDate.value(now)),
                    Columns.error.set(to: "the gobay process running it ended before it finished"))
                try Self.endSteps(ofBuild: id, status: .interrupted, at: now, db)
            }
        }
        return dead
    }

    // MARK: reads

    /// The build with `id`, or nil.
    public func build(_ id: Int64) throws -> BuildRecord? {
        try writer.read { db in try Self.build(id, db) }
    }

    /// The build with `id`, or nil; completes even when the task is cancelled.
    public func build(_ id: Int64) async throws -> BuildRecord? {
        try await readToCompletion { db in try Self.build(id, db) }
    }

    private static func build(_ id: Int64, _ db: Database) throws -> BuildRecord? {
        try records(StoredBuild.filter(key: id).fetchAll(db), db).first
    }

    /// Builds newest first, optionally of one project, in one status, or older than build `before`.
    public func builds(project: String? = nil, status: BuildStatus? = nil, before: Int64? = nil, limit: Int = 50) throws
        -> [BuildRecord]
    {
        try writer.read { db in try Self.builds(project: project, status: status, before: before, limit: limit, db) }
    }

    /// Builds newest first, optionally of one project, in one status, or older than build `before`.
    public func builds(project: String? = nil, status: BuildStatus? = nil, before: Int64? = nil, limit: Int = 50)
        async throws -> [BuildRecord]
    {
        try await writer.read { db in
            try Self.builds(project: project, status: status, before: before, limit: limit, db)
        }
    }

    private static func builds(project: String?, status: BuildStatus?, before: Int64?, limit: Int, _ db: Database)
        throws -> [BuildRecord]
    {
        typealias Columns = StoredBuild.Columns
        var request = StoredBuild.order(Columns.id.desc).limit(limit)
        if let project { request = request.filter(Columns.project == project) }
        if let status { request = request.filter(Columns.status == status) }
        if let before { request = request.filter(Columns.id < before) }
        return try records(request.fetchAll(db), db)
    }

    /// `builds` with their steps and artifacts, loaded in one query each, not two per build.
    static func records(_ builds: [StoredBuild], _ db: Database) throws -> [BuildRecord] {
        let ids = Set(builds.compactMap(\.id))
        guard let oldest = ids.min(), let newest = ids.max() else { return [] }
        // The ids themselves (one index seek each) unless there are so many that SQLite's limit
        // on arguments would refuse the list; then the range, skipping builds not listed. A
        // range alone would read a whole history: one project's 50 builds can span a million.
        let stepFilter: SQLExpression
        let artifactFilter: SQLExpression
        if ids.count <= 10_000 {
            stepFilter = ids.contains(StoredStep.Columns.buildId)
            artifactFilter = ids.contains(StoredArtifact.Columns.buildId)
        } else {
            stepFilter = (oldest...newest).contains(StoredStep.Columns.buildId)
            artifactFilter = (oldest...newest).contains(StoredArtifact.Columns.buildId)
        }
        var steps: [Int64: [StepRecord]] = [:]
        for step in try StoredStep.filter(stepFilter).order(StoredStep.Columns.id).fetchAll(db)
        where ids.contains(step.buildId) {
            steps[step.buildId, default: []].append(step.record)
        }
        var artifacts: [Int64: [ArtifactRecord]] = [:]
        // Binaries first, then reports (junit.xml, which has no target).
        for artifact in try StoredArtifact.filter(artifactFilter)
            .order(StoredArtifact.Columns.goos == "", StoredArtifact.Columns.id).fetchAll(db)
        where ids.contains(artifact.buildId) {
            artifacts[artifact.buildId, default: []].append(artifact.record)
        }
        return builds.map { build in
            let id = build.id ?? 0
            return build.record(steps: steps[id] ?? [], artifacts: artifacts[id] ?? [])
        }
    }
}

import Foundation
import Synchronization

/// Runs planned builds: records them, takes the locks, runs the steps
/// (fetch → deps → test → build → artifacts) through the environment's executor, and stores
/// the result. Shared by `gobay build` and the server's scheduler. Cancelling the task that runs
/// a build cancels the build: its processes are killed and it ends `canceled`.
public struct BuildRunner: Sendable {
    /// The config builds run under.
    public let config: GobayConfig
    /// The build history.
    public let database: AppDatabase
    private let echo: (@Sendable (String) -> Void)?
    private let locks: EnvironmentLocks
    private let secrets: SecretValues
    /// Called when the build has its locks and starts running (for commit statuses).
    private let onRunning: (@Sendable (Int64, BuildPlan) -> Void)?

    /// Creates a runner; `echo` receives every log line live, `onRunning` hears when a build has
    /// its locks and starts running.
    public init(
        config: GobayConfig, database: AppDatabase, echo: (@Sendable (String) -> Void)?,
        onRunning: (@Sendable (Int64, BuildPlan) -> Void)? = nil
    ) {
        self.config = config
        self.database = database
        self.echo = echo
        self.onRunning = onRunning
        self.locks = EnvironmentLocks(dataDir: config.dataDir)
        self.secrets = config.secretValues()
        Self.dropSharedWorkDir(dataDir: config.dataDir)
        DataDirPermissions.harden(config.dataDir)
    }

    /// Earlier versions kept module checkouts in `<data_dir>/work/<project>`, shared by every
    /// environment (and mounted into every container). They now live in their environment; the
    /// old checkouts are only caches and are removed.
    static func dropSharedWorkDir(dataDir: String) {
        let old = DataDirectory(dataDir).legacyWork
        guard FileManager.default.fileExists(atPath: old) else { return }
        try? FileManager.default.removeItem(atPath: old)
    }

    /// The variable set in every step's environment to `<owner>:<build id>`.
    public static let markerVariable = "GOBAY_BUILD"

    /// The marker of build `id` run by the process holding `owner`.
    static func marker(owner: String, id: Int64) -> String { "\(owner):\(id)" }

    /// Marks `interrupted` the unfinished builds whose gobay process has died, and kills any
    /// process such a build left running (found by the marker in its environment).
    @discardableResult
    public static func reapInterrupted(database: AppDatabase, dataDir: String) throws -> [Int64] {
        let dead = try database.reapInterrupted { ProcessOwner.isAlive($0, dataDir: dataDir) }
        for (id, owner) in dead {
            ProcessRunner.killProcesses(withEnvironmentEntry: "\(markerVariable)=\(marker(owner: owner, id: id))")
        }
        return dead.map(\.0)
    }

    /// Records the planned build as queued and returns its id.
    public func enqueue(_ plan: BuildPlan, trigger: Trigger = .cli, cause: LibraryCause? = nil) throws -> Int64 {
        let owner = try ProcessOwner.current(dataDir: config.dataDir)
        let id = try database.enqueue(
            project: plan.project.name, environment: plan.environment.name,
            goVersion: plan.environment.toolchain.version, commit: plan.commit, ref: plan.ref, owner: owner.token,
            trigger: trigger, cause: cause)
        try FileManager.default.createDirectory(
            atPath: config.data.build(id).artifacts, withIntermediateDirectories: true)
        return id
    }

    /// Plans and runs a build the server queued (with no commit or environment resolved yet).
    /// A request that cannot be planned ends the build `failed` with the reason in its log.
    @discardableResult
    public func execute(id: Int64, request: BuildRequest) async throws -> BuildRecord {
        let dir = config.data.build(id)
        try FileManager.default.createDirectory(atPath: dir.artifacts, withIntermediateDirectories: true)
        let plan: BuildPlan
        do {
            // Planning fetches the mirror: off the cooperative pool.
            let config = self.config
            plan = try await BlockingThread.run("gobay-plan-\(id)") {
                try BuildPlan.make(request, config: config, store: ToolchainStore(dataDir: config.dataDir))
            }
            try database.recordPlan(
                id, environment: plan.environment.name, goVersion: plan.environment.toolchain.version,
                commit: plan.commit, ref: plan.ref)
        } catch {
            let message = secrets.mask(SecretMask.urlPasswords((error as? GobayError)?.message ?? "\(error)"))
            let log = try BuildLog(path: dir.log, secrets: secrets, echo: echo)
            log.write("gobay", "error: \(message)")
            log.write("gobay", "build #\(id) failed")
            try await database.finish(id, status: .failed, error: message)
            log.close()
            guard let record = try await database.build(id) else { throw GobayError.failure("build #\(id) vanished") }
            return record
        }
        return try await run(plan, id: id)
    }

    /// Runs build `id` of `plan` to its end and returns the final record.
    @discardableResult
    public func run(_ plan: BuildPlan, id: Int64) async throws -> BuildRecord {
        let dir = config.data.build(id)
        let log = try BuildLog(path: dir.log, secrets: secrets, echo: echo)
        let deadline = Date().addingTimeInterval(plan.project.timeout)
        var status: BuildStatus
        var message: String?
        // Locks are released only after the final status is recorded, so the next build of the
        // project never starts before this one has finished on record.
        let held = HeldLocks()
        defer { held.releaseAll() }
        do {
            status = try await runLocked(plan, id: id, dir: dir, log: log, deadline: deadline, held: held)
        } catch let error as StepFailure {
            status = error.status
            message = error.message
        } catch let error as GobayError {
            status = .failed
            message = error.message
        } catch {
            status = .failed
            message = "\(error)"
        }
        if status == .succeeded, let failure = log.failure {
            status = .failed
            message = "cannot write the build log: \(failure)"
        }
        // An error may quote a tool's output (a URL with a password, a secret): masked as the log is.
        message = message.map { secrets.mask(SecretMask.urlPasswords($0)) }
        if let message { log.write("gobay", "error: \(message)") }
        if status == .failed, let used = try? await database.build(id)?.libraries, !used.isEmpty {
            // A library commit may be what broke it: say which, and how to hold an environment back.
            for (name, commit) in used.sorted(by: { $0.key < $1.key }) {
                log.write(
                    "gobay",
                    "this build compiled against library \(name) at \(commit); if that commit broke it, hold this "
                        + "environment at a good one: gobay lib pin \(name) COMMIT --env \(plan.environment.name)")
            }
        }
        log.write("gobay", "build #\(id) \(status.rawValue)")
        try await database.finish(id, status: status, error: message)
        // Closing the log after the final status is on record is what wakes its followers (an
        // inotify close-write event), in this process or another.
        log.close()
        guard let record = try await database.build(id) else {
            throw GobayError.failure("build #\(id) vanished from the history")
        }
        return record
    }

    private func runLocked(
        _ plan: BuildPlan, id: Int64, dir: BuildDirectory, log: BuildLog, deadline: Date, held: HeldLocks
    ) async throws -> BuildStatus {
        let env = plan.environment
        log.write("gobay", "build #\(id): \(plan.project.name) \(plan.ref) @ \(plan.commit) in \(env.name) (Go \(env.toolchain.version), \(plan.mode.rawValue) mode)")

        let projectLock = try locks.project(plan.project.name)
        if !projectLock.tryLockExclusive() {
            log.write("gobay", "waiting for the previous build of \(plan.project.name) to finish")
            guard await projectLock.lock(shared: false, deadline: deadline) else { throw waitEnded() }
        }
        held.append(projectLock)
        guard let slot = try await locks.takeSlot(env.name, slots: env.config.concurrency, deadline: deadline)
        else { throw waitEnded() }
        held.append(slot)
        let executor = try env.makeExecutor(dataDir: config.dataDir)
        // Creating or starting a container runs docker: off the cooperative pool.
        try await BlockingThread.run("gobay-prepare-\(id)") { try executor.prepare() }
        if Task.isCancelled { throw StepFailure(status: .canceled, message: "canceled before the first step") }
        try await database.markRunning(id)
        onRunning?(id, plan)

        let gopathLock = try locks.gopath(env.name)
        let owner = try ProcessOwner.current(dataDir: config.dataDir)
        let steps = BuildSteps(
            plan: plan, id: id, dir: dir, log: log, deadline: deadline, database: database,
            gopathLock: gopathLock, config: config,
            executor: executor, marker: Self.marker(owner: owner.token, id: id),
            projectEnv: try plan.project.resolvedEnv())
        let workDir = try await steps.fetch()
        // Steps may run as another user: the checkout was handed to them, the out dir is made
        // theirs. It stays between builds, so an unchanged program is not linked again.
        // The out dir's parent is the step user's: reached without following a link, and the
        // out dir made and handed over in the directory opened.
        let outParent = try PlacementDirectory(
            (steps.outDir as NSString).deletingLastPathComponent, anchor: env.dir, owner: executor.stepUser)
        let outDir = outParent.path + "/" + (steps.outDir as NSString).lastPathComponent
        try Ownership.makeDirectories(outDir, owner: executor.stepUser)
        if let user = executor.stepUser { try Ownership.hand([outDir], to: user) }
        let libraries = try await steps.deps(workDir: workDir)
        // Builds read the shared GOPATH: hold it shared so no dependency or library update swaps
        // it underneath; the library commits read now are the ones the build compiles against.
        guard await gopathLock.lock(shared: true, deadline: deadline) else { throw waitEnded() }
        held.append(gopathLock)
        try steps.recordLibraries(libraries)
        if plan.project.generate { try await steps.generate(workDir: workDir) }
        if plan.project.test { try await steps.test(workDir: workDir) }
        let built = try await steps.build(workDir: workDir)
        try await steps.artifacts(built)
        return .succeeded
    }

    private func waitEnded() -> StepFailure {
        Task.isCancelled
            ? StepFailure(status: .canceled, message: "canceled while waiting for a lock")
            : StepFailure(status: .timedOut, message: "timed out while waiting for a lock")
    }
}

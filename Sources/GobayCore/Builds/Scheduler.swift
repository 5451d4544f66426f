import Foundation

/// Runs the server's queue: claims waiting builds from the database and runs each on its own
/// thread, within `max_builds`, one build per project at a time; environments' concurrency and
/// the GOPATH locks are enforced by the cross-process locks every build takes, so builds started
/// by hand with `gobay build` share the same limits.
public final class Scheduler: @unchecked Sendable {
    /// What the scheduler tells the rest of the server.
    public struct Hooks: Sendable {
        /// A build got its locks and is running.
        public var running: @Sendable (Int64, BuildPlan) -> Void = { _, _ in }
        /// A build ended.
        public var finished: @Sendable (BuildRecord) -> Void = { _ in }

        /// No-op hooks.
        public init() {}
    }

    private var config: GobayConfig
    private let database: AppDatabase
    private let owner: ProcessOwner
    private let hooks: Hooks
    private let condition = NSCondition()
    private var runningBuilds: [Int64: (project: String, cancel: CancellationFlag)] = [:]
    private var stopping = false
    private var loopDone = false
    private var woken = false

    /// Creates a scheduler; call `start()` to begin claiming.
    public init(config: GobayConfig, database: AppDatabase, hooks: Hooks) throws {
        self.config = config
        self.database = database
        self.hooks = hooks
        self.owner = try ProcessOwner.current(dataDir: config.dataDir)
    }

    /// Puts a reloaded config in force for builds started from now on; running builds keep theirs.
    public func reload(config: GobayConfig) {
        condition.lock()
        self.config = config
        woken = true
        condition.broadcast()
        condition.unlock()
    }

    /// Ids of the builds running in this process.
    public var running: [Int64] {
        condition.lock()
        defer { condition.unlock() }
        return Array(runningBuilds.keys).sorted()
    }

    /// Starts the claiming loop on its own thread.
    public func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "gobay-scheduler"
        thread.start()
    }

    /// Makes the loop look at the queue now.
    public func wake() {
        condition.lock()
        woken = true
        condition.broadcast()
        condition.unlock()
    }

    /// Cancels a build: a running one here is killed, a waiting one is marked canceled.
    /// Returns false when the build is neither.
    public func cancel(_ id: Int64) throws -> Bool {
        condition.lock()
        let flag = runningBuilds[id]?.cancel
        condition.unlock()
        if let flag {
            flag.cancel()
            return true
        }
        return try database.cancelQueued(id)
    }

    /// Stops claiming, lets running builds finish for `grace` seconds, then cancels them and
    /// waits until every one has ended and been recorded.
    public func shutdown(grace: TimeInterval) {
        condition.lock()
        stopping = true
        condition.broadcast()
        let deadline = Date().addingTimeInterval(grace)
        while !runningBuilds.isEmpty && Date() < deadline {
            _ = condition.wait(until: min(deadline, Date().addingTimeInterval(0.2)))
        }
        for (_, build) in runningBuilds { build.cancel.cancel() }
        while !runningBuilds.isEmpty || !loopDone {
            _ = condition.wait(until: Date().addingTimeInterval(0.2))
        }
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            if stopping {
                loopDone = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let free = config.server.maxBuilds - runningBuilds.count
            let config = self.config
            var busyProjects = Set(runningBuilds.values.map(\.project))
            condition.unlock()
            if free > 0 {
                claimAndStart(free: free, busyProjects: &busyProjects, config: config)
            }
            // At most one pass per 20 ms however many wakes arrive: a burst of webhooks costs
            // the queue one look, not one per hook.
            Thread.sleep(forTimeInterval: 0.02)
            condition.lock()
            if !stopping && !woken { _ = condition.wait(until: Date().addingTimeInterval(0.25)) }
            woken = false
            condition.unlock()
        }
    }

    private func claimAndStart(free: Int, busyProjects: inout Set<String>, config: GobayConfig) {
        guard let candidates = try? database.claimable() else { return }
        var started = 0
        for build in candidates where started < free && !busyProjects.contains(build.project) {
            guard (try? database.claim(build.id, owner: owner.token)) == true else { continue }
            busyProjects.insert(build.project)
            started += 1
            launch(build, config: config)
        }
    }

    /// Runs `build` with `config`, the config in force when it was claimed, to its end.
    private func launch(_ build: AppDatabase.QueuedBuild, config: GobayConfig) {
        let cancel = CancellationFlag()
        condition.lock()
        runningBuilds[build.id] = (build.project, cancel)
        condition.unlock()
        let thread = Thread { [self] in
            let runner = BuildRunner(config: config, database: database, cancel: cancel, echo: nil)
            runner.onRunning = hooks.running
            let request = BuildRequest(
                project: build.project, ref: build.ref, commit: build.commit,
                environment: build.environment)
            let record: BuildRecord?
            do {
                record = try runner.execute(id: build.id, request: request)
            } catch {
                try? database.finish(build.id, status: .failed, error: "\(error)")
                record = try? database.build(build.id)
            }
            condition.lock()
            runningBuilds.removeValue(forKey: build.id)
            condition.broadcast()
            condition.unlock()
            if let record { hooks.finished(record) }
        }
        thread.name = "gobay-build-\(build.id)"
        thread.start()
    }
}

import Foundation
import Synchronization

/// Runs the server's queue: claims waiting builds from the database and runs each as a child
/// task, within `max_builds`, one build per project at a time; environments' concurrency and
/// the GOPATH locks are enforced by the cross-process locks every build takes, so builds started
/// by hand with `gobay build` share the same limits. It looks at the queue when woken (a build
/// queued, canceled or finished, a config reload) and when a waiting build's quiet period ends,
/// and costs nothing in between.
public final class Scheduler: Sendable {
    /// What the scheduler tells the rest of the server.
    public struct Hooks: Sendable {
        /// A build got its locks and is running.
        public var running: @Sendable (Int64, BuildPlan) -> Void = { _, _ in }
        /// A build ended.
        public var finished: @Sendable (BuildRecord) -> Void = { _ in }
        /// The scheduler looked at the queue, which may have changed (builds queued, claimed,
        /// canceled or superseded).
        public var queueChanged: @Sendable () -> Void = {}

        /// No-op hooks.
        public init() {}
    }

    private struct State {
        var config: GobayConfig
        /// Runs the builds claimed under `config`: made once per config, not per build (it
        /// gathers the secret values of every project).
        var runner: BuildRunner
        var running: [Int64: (project: String, cancel: CancelSignal)] = [:]
        var stopping = false
    }

    private let database: AppDatabase
    private let owner: ProcessOwner
    private let hooks: Hooks
    private let state: Mutex<State>
    /// Set when something may have changed in the queue; many signals before the next look at
    /// the queue are one.
    private let wakeSignal = WakeSignal()
    /// Set when the last running build has ended.
    private let drained = WakeSignal()
    /// Set when a build ends and frees its slot: it cuts short the pause between two looks.
    private let slotFreed = WakeSignal()

    /// The least time between two looks at the queue.
    static let passInterval = Duration.milliseconds(20)

    /// How long to wait before the next look at the queue, the last having begun `elapsed` ago:
    /// what is left of `passInterval`, or nil when it has passed.
    static func pause(sinceLastPass elapsed: Duration) -> Duration? {
        elapsed < passInterval ? passInterval - elapsed : nil
    }

    /// Creates a scheduler; `run(grace:)` claims and runs builds.
    public init(config: GobayConfig, database: AppDatabase, hooks: Hooks) throws {
        state = Mutex(State(config: config, runner: Self.runner(config, database, hooks)))
        self.database = database
        self.hooks = hooks
        self.owner = try ProcessOwner.current(dataDir: config.dataDir)
    }

    /// Puts a reloaded config in force for builds started from now on; running builds keep theirs.
    public func reload(config: GobayConfig) {
        let runner = Self.runner(config, database, hooks)
        state.withLock {
            $0.config = config
            $0.runner = runner
        }
        wake()
    }

    private static func runner(_ config: GobayConfig, _ database: AppDatabase, _ hooks: Hooks) -> BuildRunner {
        BuildRunner(config: config, database: database, echo: nil, onRunning: hooks.running)
    }

    /// Ids of the builds running in this process.
    public var running: [Int64] { state.withLock { Array($0.running.keys).sorted() } }

    /// Makes the scheduler look at the queue now.
    public func wake() { wakeSignal.signal() }

    /// Cancels a build: a running one here is canceled (its task, and so its processes), a waiting
    /// one is marked canceled. Returns false when the build is neither.
    public func cancel(_ id: Int64) async throws -> Bool {
        if let signal = state.withLock({ $0.running[id]?.cancel }) {
            signal.signal()
            return true
        }
        guard try await database.cancelQueued(id) else { return false }
        wake()
        return true
    }

    /// Stops claiming: `run` then lets running builds finish within its grace period.
    public func beginShutdown() {
        state.withLock { $0.stopping = true }
        wakeSignal.signal()
    }

    /// Claims and runs builds until `beginShutdown()` or cancellation; then lets running builds
    /// finish for `grace` seconds, cancels the rest, and returns once every one has ended and
    /// been recorded. Cancelling the task cancels every build at once.
    public func run(grace: @escaping @Sendable () -> TimeInterval) async {
        await withDiscardingTaskGroup { group in
            let clock = ContinuousClock()
            while !Task.isCancelled && !state.withLock({ $0.stopping }) {
                let passStarted = clock.now
                // A slot freed from here on is one this look may not see.
                slotFreed.reset()
                let (claimed, nextStart) = await claimPass()
                for (build, runner, cancel) in claimed {
                    group.addTask { await self.runBuild(build, runner: runner, cancel: cancel) }
                }
                await wakeSignal.wait(until: nextStart)
                // A burst of webhooks costs the queue one look per 20 ms, not one per hook; a
                // wake after a quiet spell looks at once, and so does a freed slot (two builds
                // ending a few ms apart would otherwise leave the second slot idle for the rest
                // of the 20 ms: up to a tenth of a 200 ms build).
                if let pause = Self.pause(sinceLastPass: clock.now - passStarted) {
                    await slotFreed.wait(until: Date().addingTimeInterval(pause.inSeconds))
                }
            }
            drained.reset()
            if state.withLock({ !$0.running.isEmpty }) {
                await drained.wait(until: Date().addingTimeInterval(grace()))
            }
            // Whatever is still running is canceled; the group waits until each has been recorded.
            group.cancelAll()
        }
    }

    /// One look at the queue: claims what may start now. Returns the claimed builds, each with the
    /// runner of the config it runs with and its cancel signal, and when the earliest build still
    /// in its quiet period may start.
    private func claimPass() async -> (
        claimed: [(AppDatabase.QueuedBuild, BuildRunner, CancelSignal)], nextStart: Date?
    ) {
        let (free, runner, busy) = state.withLock { state in
            (state.config.server.maxBuilds - state.running.count, state.runner, Set(state.running.values.map(\.project)))
        }
        var busyProjects = busy
        var claimed: [(AppDatabase.QueuedBuild, BuildRunner, CancelSignal)] = []
        // One instant for both questions: a build whose quiet period ends between "what may start
        // now" and "when may the next start" would otherwise be neither claimed nor waited for.
        let now = Date()
        // A few candidates at a time (one range of an index, however deep the queue), of projects
        // not running; again while slots are free and the last look claimed something.
        while claimed.count < free,
            let candidates = try? await database.claimable(
                now: now, excluding: busyProjects, limit: 2 * (free - claimed.count)),
            !candidates.isEmpty
        {
            var progressed = false
            for build in candidates where claimed.count < free && !busyProjects.contains(build.project) {
                guard (try? await database.claim(build.id, owner: owner.token)) == true else { continue }
                busyProjects.insert(build.project)
                let cancel = CancelSignal()
                state.withLock { $0.running[build.id] = (build.project, cancel) }
                claimed.append((build, runner, cancel))
                progressed = true
            }
            if !progressed { break }
        }
        hooks.queueChanged()
        return (claimed, try? await database.nextQueuedStart(after: now))
    }

    /// Runs `build` with `runner`, of the config in force when it was claimed, to its end;
    /// `cancel` (or cancelling the task) cancels it.
    private func runBuild(_ build: AppDatabase.QueuedBuild, runner: BuildRunner, cancel: CancelSignal) async {
        let record: BuildRecord? = await withTaskGroup(of: BuildRecord?.self) { group in
            group.addTask {
                let request = BuildRequest(
                    project: build.project, ref: build.ref, commit: build.commit, environment: build.environment)
                do {
                    return try await runner.execute(id: build.id, request: request)
                } catch {
                    try? await self.database.finish(build.id, status: .failed, error: "\(error)")
                    return try? await self.database.build(build.id)
                }
            }
            group.addTask {
                await cancel.wait(until: nil)
                return nil
            }
            // The first to end is the build, or a cancel request that cancels it.
            var record: BuildRecord?
            if let first = await group.next() { record = first }
            group.cancelAll()
            for await rest in group where rest != nil { record = rest }
            return record
        }
        let empty = state.withLock { state in
            state.running.removeValue(forKey: build.id)
            return state.running.isEmpty
        }
        if let record { hooks.finished(record) }
        if empty { drained.signal() }
        slotFreed.signal()
        wake()
    }
}

/// A one-bit signal a task can wait on: `signal()` sets it, `wait(until:)` returns once it is set
/// (and clears it), at a deadline, or when the task is cancelled.
final class WakeSignal: Sendable {
    private struct State {
        var set = false
        /// A deadline or cancellation came before the waiter was in place.
        var released = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// Sets the signal: the waiter (if any) wakes and takes it, else the next wait does.
    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.set = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Clears a signal nobody has waited for yet.
    func reset() {
        state.withLock { state in
            state.set = false
            state.released = false
        }
    }

    /// Waits for the signal (taking it), for `deadline` or for cancellation, whichever is first.
    func wait(until deadline: Date?) async {
        await withTaskGroup(of: Void.self) { group in
            if let deadline {
                group.addTask {
                    do {
                        try await Task.sleep(for: .milliseconds(Int64(max(0, deadline.timeIntervalSinceNow) * 1000)))
                        self.release()
                    } catch {}  // the wait ended first
                }
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let ready = state.withLock { state -> Bool in
                        if state.set || state.released {
                            state.set = false
                            state.released = false
                            return true
                        }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                self.release()
            }
            group.cancelAll()
        }
    }

    /// Wakes the waiter without setting the signal (its deadline passed, or it was cancelled).
    private func release() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.released = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }
}

/// Asks one running build to stop.
typealias CancelSignal = WakeSignal

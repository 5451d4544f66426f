import Foundation

/// The cross-process locks of builds, as files under `<data_dir>/locks/`, held with flock so a
/// killed gobay never leaves one behind:
/// - one per project, so builds of a project run one at a time;
/// - `concurrency` slot files per environment;
/// - a GOPATH read/write lock per environment: builds read, dependency fetches write.
public struct EnvironmentLocks: Sendable {
    /// `<data_dir>/locks`.
    public let dir: String

    /// Creates the lock set of a data dir.
    public init(dataDir: String) { dir = DataDirectory(dataDir).locks }

    /// The lock that lets one build of `project` run at a time.
    public func project(_ project: String) throws -> FileLock {
        try FileLock(path: "\(dir)/project-\(project).lock")
    }

    /// The GOPATH read/write lock of `environment`.
    public func gopath(_ environment: String) throws -> FileLock {
        try FileLock(path: "\(dir)/env-\(environment).gopath.lock")
    }

    /// Waits for a free build slot of `environment`; nil when the deadline or cancellation ends the wait.
    public func takeSlot(_ environment: String, slots: Int, deadline: Date?) async throws -> FileLock? {
        let locks = try (0..<slots).map { try FileLock(path: "\(dir)/env-\(environment).slot-\($0).lock") }
        if let free = locks.first(where: { $0.tryLockExclusive() }) { return free }
        return await LockWait.first(of: locks, shared: false, deadline: deadline).map { locks[$0] }
    }

    /// How many of the environment's slots are taken right now, by any process.
    public func busySlots(_ environment: String, slots: Int) -> Int {
        var busy = 0
        for i in 0..<slots {
            guard let lock = try? FileLock(path: "\(dir)/env-\(environment).slot-\(i).lock") else { continue }
            if lock.tryLockExclusive() { lock.unlock() } else { busy += 1 }
        }
        return busy
    }
}

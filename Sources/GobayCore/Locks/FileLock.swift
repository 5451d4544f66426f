import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A cross-process lock on a file, held with flock(2); the kernel releases it when the holder dies.
public final class FileLock: Sendable {
    /// The lock's file.
    public let path: String
    private let fd: Int32

    /// Opens (creating if needed) the lock file; the lock is not taken yet.
    public init(path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 {
            throw GobayError.failure(
                "cannot open lock file \(path): \(String(cString: strerror(errno)))",
                hint: "check that the data dir is writable")
        }
        self.fd = fd
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// The lock's descriptor, to hand to a child that must hold the lock while it runs (a flock
    /// belongs to the open file, which the child then shares).
    var descriptor: Int32 { fd }

    /// Takes the lock exclusively, waiting as long as it takes.
    public func lockExclusive() { flockRetrying(LOCK_EX) }

    /// Takes the lock shared, waiting as long as it takes.
    public func lockShared() { flockRetrying(LOCK_SH) }

    /// Takes the lock exclusively if nobody holds it; returns whether it was taken.
    public func tryLockExclusive() -> Bool { flock(fd, LOCK_EX | LOCK_NB) == 0 }

    /// Takes the lock shared if nobody holds it exclusively; returns whether it was taken.
    public func tryLockShared() -> Bool { flock(fd, LOCK_SH | LOCK_NB) == 0 }

    /// Releases the lock (the file stays).
    public func unlock() { _ = flock(fd, LOCK_UN) }

    /// Takes the lock, giving up when `deadline` passes or the task is cancelled; returns whether
    /// it was taken. The wait blocks a thread of its own, never the caller's.
    public func lock(shared: Bool, deadline: Date?) async -> Bool {
        if shared ? tryLockShared() : tryLockExclusive() { return true }
        return await LockWait.first(of: [self], shared: shared, deadline: deadline) != nil
    }

    /// Takes the lock, blocking the calling thread as long as it takes.
    func lockBlocking(shared: Bool) { flockRetrying(shared ? LOCK_SH : LOCK_EX) }

    private func flockRetrying(_ op: Int32) {
        while flock(fd, op) != 0 && errno == EINTR {}
    }
}

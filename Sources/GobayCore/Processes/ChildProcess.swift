import CGobay
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A process started in the background in its own process group, its stdout and stderr going to
/// files; for the server's helpers and for tests that must signal a running gobay.
public final class ChildProcess: Sendable {
    /// The child's pid, which is also its process group id.
    public let pid: pid_t
    /// Where its stdout goes.
    public let stdoutPath: String
    /// Where its stderr goes.
    public let stderrPath: String
    /// Readable once the child has exited.
    private let pidfd: Int32
    private let exitStatus = Mutex<Int32?>(nil)

    /// Starts `spec` with its output going to `stdoutPath` and `stderrPath`, and its input read
    /// from `stdinPath` (default: nothing).
    public init(_ spec: ProcessSpec, stdoutPath: String, stderrPath: String, stdinPath: String? = nil) throws {
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
        let out = open(stdoutPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let err = open(stderrPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer {
            if out >= 0 { close(out) }
            if err >= 0 { close(err) }
        }
        guard out >= 0, err >= 0 else { throw GobayError.failure("cannot open \(stdoutPath) or \(stderrPath)") }
        var spec = spec
        if let stdinPath { spec.stdinPath = stdinPath }
        let process = try ProcessRunner.spawn(spec, stdoutFD: out, stderrFD: err)
        pid = process.pid
        pidfd = process.pidfd
    }

    deinit { close(pidfd) }

    /// Sends `signal` to the child alone.
    public func signal(_ sig: Int32) { kill(pid, sig) }

    /// Sends `signal` to the child's whole process group.
    public func signalGroup(_ sig: Int32) { kill(-pid, sig) }

    /// Waits for the child to exit (up to `timeout` seconds) and returns its status, or nil on
    /// timeout. Blocks the calling thread in poll(2) on the child's pidfd.
    @discardableResult
    public func wait(timeout: TimeInterval = 600) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        return exitStatus.withLock { status in
            while status == nil {
                let rc = cgobay_pidfd_reap(pidfd)
                if rc != -EAGAIN {
                    status = rc >= 0 ? rc : -1
                    break
                }
                var entry = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
                let left = deadline.timeIntervalSinceNow
                if left <= 0 { break }
                _ = poll(&entry, 1, Int32(min(left * 1000 + 1, 60_000)))
            }
            return status
        }
    }

    /// What it has written to stdout so far.
    public var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }

    /// What it has written to stderr so far.
    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}

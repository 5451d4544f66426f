import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A process started in the background in its own process group, its stdout and stderr going to
/// files; for the server's helpers and for tests that must signal a running gobay.
public final class ChildProcess: @unchecked Sendable {
    /// The child's pid, which is also its process group id.
    public let pid: pid_t
    /// Where its stdout goes.
    public let stdoutPath: String
    /// Where its stderr goes.
    public let stderrPath: String
    private var exitStatus: Int32?
    private let lock = NSLock()

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
        pid = try ProcessRunner.spawn(spec, stdoutFD: out, stderrFD: err, stdinPath: stdinPath ?? "/dev/null")
    }

    /// Sends `signal` to the child alone.
    public func signal(_ sig: Int32) { kill(pid, sig) }

    /// Sends `signal` to the child's whole process group.
    public func signalGroup(_ sig: Int32) { kill(-pid, sig) }

    /// Waits for the child to exit (up to `timeout` seconds) and returns its status, or nil on timeout.
    @discardableResult
    public func wait(timeout: TimeInterval = 600) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            lock.lock()
            if let exitStatus {
                lock.unlock()
                return exitStatus
            }
            var raw: Int32 = 0
            let r = waitpid(pid, &raw, WNOHANG)
            if r == pid {
                let sig = raw & 0x7f
                exitStatus = sig == 0 ? (raw >> 8) & 0xff : 128 + sig
                lock.unlock()
                return exitStatus
            }
            lock.unlock()
            if Date() >= deadline { return nil }
            usleep(10_000)
        }
    }

    /// What it has written to stdout so far.
    public var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }

    /// What it has written to stderr so far.
    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}

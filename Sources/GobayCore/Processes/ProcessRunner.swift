import CGobay
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs processes in their own process group, streams their output, and kills the whole group on
/// timeout or cancel, checking afterwards that nothing of it is left. The async functions (build
/// steps) wait through the shared `ProcessMonitor`; the sync ones (the CLI's helpers) block their
/// thread in poll(2) on the pipes and the child's pidfd. Neither polls on a timer.
public enum ProcessRunner {
    /// Runs `spec`, calling `onOutput` with each line of merged stdout and stderr.
    public static func run(_ spec: ProcessSpec, deadline: Date? = nil, onOutput: (String) -> Void) throws
        -> ProcessOutcome
    {
        let pipe = try makePipe(spec)
        let process: SpawnedProcess
        do {
            process = try spawn(spec, stdoutFD: pipe.write, stderrFD: pipe.write)
        } catch {
            close(pipe.read)
            close(pipe.write)
            throw error
        }
        close(pipe.write)
        defer {
            close(pipe.read)
            close(process.pidfd)
        }
        var splitter = LineSplitter()
        var supervision = Supervision(process: process, cgroup: spec.cgroup, readFDs: [pipe.read], deadline: deadline)
        superviseBlocking(&supervision) { _, bytes in
            for line in splitter.feed(bytes) { onOutput(line) }
        }
        if let rest = splitter.finish() { onOutput(rest) }
        return supervision.outcome
    }

    /// Runs `spec` to completion and returns its exit status, stdout and stderr separately.
    public static func capture(_ spec: ProcessSpec, deadline: Date? = nil) throws
        -> (outcome: ProcessOutcome, stdout: String, stderr: String)
    {
        let (process, out, err) = try spawnCapturing(spec)
        defer {
            close(out)
            close(err)
            close(process.pidfd)
        }
        var stdoutBytes: [UInt8] = []
        var stderrBytes: [UInt8] = []
        var supervision = Supervision(process: process, cgroup: spec.cgroup, readFDs: [out, err], deadline: deadline)
        superviseBlocking(&supervision) { fd, bytes in
            if fd == out { stdoutBytes += bytes } else { stderrBytes += bytes }
        }
        return (
            supervision.outcome, String(decoding: stdoutBytes, as: UTF8.self), String(decoding: stderrBytes, as: UTF8.self)
        )
    }

    /// Starts `spec` with separate stdout and stderr pipes; returns their read ends.
    static func spawnCapturing(_ spec: ProcessSpec) throws -> (SpawnedProcess, out: Int32, err: Int32) {
        let out = try makePipe(spec)
        let err: (read: Int32, write: Int32)
        do {
            err = try makePipe(spec)
        } catch {
            close(out.read)
            close(out.write)
            throw error
        }
        let process: SpawnedProcess
        do {
            process = try spawn(spec, stdoutFD: out.write, stderrFD: err.write)
        } catch {
            [out.read, out.write, err.read, err.write].forEach { close($0) }
            throw error
        }
        close(out.write)
        close(err.write)
        return (process, out.read, err.read)
    }

    /// Waits in poll(2) on the pipes and the pidfd, with the deadline (or the SIGKILL after a
    /// SIGTERM) as its timeout, until the child has exited and its output is closed; then kills
    /// what is left of the group and checks it is gone.
    private static func superviseBlocking(_ supervision: inout Supervision, onBytes: (Int32, [UInt8]) -> Void) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !supervision.done {
            var fds = supervision.open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if supervision.status == nil {
                fds.append(pollfd(fd: supervision.process.pidfd, events: Int16(POLLIN), revents: 0))
            }
            let timeout = supervision.nextWake.map { Int32(max(0, min($0.timeIntervalSinceNow * 1000 + 1, 60_000))) } ?? -1
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 && errno != EINTR { break }
            supervision.tick()
            for entry in fds where entry.revents != 0 {
                if entry.fd == supervision.process.pidfd {
                    supervision.reap()
                } else if let bytes = supervision.read(entry.fd, into: &buffer), !bytes.isEmpty {
                    onBytes(entry.fd, bytes)
                }
            }
        }
        reapGroup(supervision.process.pid)
    }
}

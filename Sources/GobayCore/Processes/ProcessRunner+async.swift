import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension ProcessRunner {
    /// Runs `spec`, calling `onOutput` with each line of merged stdout and stderr. Cancelling the
    /// task stops the process: its group gets SIGTERM, then SIGKILL 3 s later, and the call
    /// returns once the process is gone, with `canceled` set.
    public static func run(_ spec: ProcessSpec, deadline: Date? = nil, onOutput: (String) -> Void) async throws
        -> ProcessOutcome
    {
        let pipe = try makePipe(spec)
        let process: SpawnedProcess
        do {
            process = try await onMonitorThread { try spawn(spec, stdoutFD: pipe.write, stderrFD: pipe.write) }
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
        try await supervise(&supervision) { _, bytes in
            for line in splitter.feed(bytes) { onOutput(line) }
        }
        if let rest = splitter.finish() { onOutput(rest) }
        return supervision.outcome
    }

    /// Runs `spec` to completion and returns its exit status, stdout and stderr separately;
    /// cancellation stops it as `run` does.
    public static func capture(_ spec: ProcessSpec, deadline: Date? = nil) async throws
        -> (outcome: ProcessOutcome, stdout: String, stderr: String)
    {
        let (process, out, err) = try await onMonitorThread { try spawnCapturing(spec) }
        defer {
            close(out)
            close(err)
            close(process.pidfd)
        }
        var stdoutBytes: [UInt8] = []
        var stderrBytes: [UInt8] = []
        var supervision = Supervision(process: process, cgroup: spec.cgroup, readFDs: [out, err], deadline: deadline)
        try await supervise(&supervision) { fd, bytes in
            if fd == out { stdoutBytes += bytes } else { stderrBytes += bytes }
        }
        return (
            supervision.outcome, String(decoding: stdoutBytes, as: UTF8.self), String(decoding: stderrBytes, as: UTF8.self)
        )
    }

    /// Runs `spawn` on the monitor's long-lived thread (see `ProcessMonitor.perform`).
    private static func onMonitorThread<T: Sendable>(_ spawn: @escaping @Sendable () throws -> T) async throws -> T {
        guard let monitor = ProcessMonitor.shared else {
            throw GobayError.failure("cannot watch processes: epoll or eventfd is unavailable")
        }
        return try await withCheckedThrowingContinuation { continuation in
            monitor.perform { continuation.resume(with: Result { try spawn() }) }
        }
    }

    /// Waits for the monitor's events until the child has exited and its output is closed, then
    /// kills what is left of the group and checks it is gone.
    private static func supervise(_ supervision: inout Supervision, onBytes: (Int32, [UInt8]) -> Void) async throws {
        guard let monitor = ProcessMonitor.shared else {
            throw GobayError.failure("cannot watch processes: epoll or eventfd is unavailable")
        }
        let watch = ProcessWatch()
        let pidfd = supervision.process.pidfd
        var tokens: [Int32: UInt64] = [:]
        for fd in supervision.readFDs + [pidfd] { tokens[fd] = monitor.add(fd, to: watch) }
        defer {
            monitor.setTimer(nil, for: watch)
            for (fd, token) in tokens { monitor.remove(fd, token: token) }
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var timer = supervision.nextWake
        monitor.setTimer(timer, for: watch)
        await withTaskCancellationHandler {
            while !supervision.done {
                let event = await watch.next()
                switch event {
                case .ready(let fd) where fd == pidfd:
                    supervision.reap()
                    if supervision.status == nil, let token = tokens[fd] { monitor.rearm(fd, token: token) }
                case .ready(let fd):
                    if let bytes = supervision.read(fd, into: &buffer) {
                        if !bytes.isEmpty { onBytes(fd, bytes) }
                        if let token = tokens[fd] { monitor.rearm(fd, token: token) }
                    }
                case .timer:
                    supervision.tick()
                case .cancel:
                    supervision.cancel()
                }
                if case .timer = event {
                    timer = supervision.nextWake
                    monitor.setTimer(timer, for: watch)
                } else if supervision.nextWake != timer {
                    timer = supervision.nextWake
                    monitor.setTimer(timer, for: watch)
                }
            }
        } onCancel: {
            watch.post(.cancel)
        }
        // Usually nothing is left; a group member that survived is killed and waited for through
        // its pidfd (a short wait off the monitor, bounded by `sweep`).
        reapGroup(supervision.process.pid)
    }
}

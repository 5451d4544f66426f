import CGobay
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A command to run: an argument vector, never a shell string.
public struct ProcessSpec: Sendable {
    /// argv[0] is resolved against the PATH in `environment` when it has no slash.
    public var arguments: [String]
    /// The complete environment of the child; nothing is inherited.
    public var environment: [String: String]
    /// The working directory of the child.
    public var workingDirectory: String?
    /// Descriptors the child gets as 3, 4, ... (every other one is closed in the child).
    public var descriptors: [Int32] = []
    /// The user the child runs as (supplementary groups dropped); nil keeps gobay's.
    public var user: ProcessUser?
    /// The cgroup the child starts in, so every process it makes can be found and killed.
    public var cgroup: StepCgroup?
    /// Sets no-new-privileges: setuid binaries and file capabilities grant nothing.
    public var noNewPrivileges = false

    /// Creates a spec.
    public init(_ arguments: [String], environment: [String: String], workingDirectory: String? = nil) {
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
    }
}

/// How a process ended.
public struct ProcessOutcome: Sendable {
    /// The exit status, or 128+signal when it was killed by a signal.
    public var status: Int32
    /// Whether the deadline passed and the process group was killed.
    public var timedOut: Bool
    /// Whether cancellation was asked for and the process group was killed.
    public var canceled: Bool
    /// Whether it exited with status 0 on its own.
    public var succeeded: Bool { status == 0 && !timedOut && !canceled }
}

/// Runs processes in their own process group, streams their output, and kills the whole group on
/// timeout or cancel, checking afterwards that nothing of it is left.
public enum ProcessRunner {
    /// Runs `spec`, calling `onOutput` with each line of merged stdout and stderr.
    public static func run(
        _ spec: ProcessSpec, deadline: Date? = nil, cancel: CancellationFlag? = nil,
        onOutput: (String) -> Void
    ) throws -> ProcessOutcome {
        var fds: [Int32] = [0, 0]
        guard cgobay_pipe_cloexec(&fds) == 0 else { throw spawnError(spec, errno) }
        let pid: pid_t
        do {
            pid = try spawn(spec, stdoutFD: fds[1], stderrFD: fds[1])
        } catch {
            close(fds[0])
            close(fds[1])
            throw error
        }
        close(fds[1])
        defer { close(fds[0]) }
        var splitter = LineSplitter()
        let outcome = supervise(pid: pid, cgroup: spec.cgroup, readFDs: [fds[0]], deadline: deadline, cancel: cancel) { _, bytes in
            for line in splitter.feed(bytes) { onOutput(line) }
        }
        if let rest = splitter.finish() { onOutput(rest) }
        return outcome
    }

    /// Runs `spec` to completion and returns its exit status, stdout and stderr separately.
    public static func capture(
        _ spec: ProcessSpec, deadline: Date? = nil, cancel: CancellationFlag? = nil
    ) throws -> (outcome: ProcessOutcome, stdout: String, stderr: String) {
        var out: [Int32] = [0, 0]
        var err: [Int32] = [0, 0]
        guard cgobay_pipe_cloexec(&out) == 0 else { throw spawnError(spec, errno) }
        guard cgobay_pipe_cloexec(&err) == 0 else {
            close(out[0])
            close(out[1])
            throw spawnError(spec, errno)
        }
        let pid: pid_t
        do {
            pid = try spawn(spec, stdoutFD: out[1], stderrFD: err[1])
        } catch {
            [out[0], out[1], err[0], err[1]].forEach { close($0) }
            throw error
        }
        close(out[1])
        close(err[1])
        defer {
            close(out[0])
            close(err[0])
        }
        var stdoutBytes: [UInt8] = []
        var stderrBytes: [UInt8] = []
        let outFD = out[0]
        let outcome = supervise(pid: pid, cgroup: spec.cgroup, readFDs: [out[0], err[0]], deadline: deadline, cancel: cancel) {
            fd, bytes in
            if fd == outFD { stdoutBytes += bytes } else { stderrBytes += bytes }
        }
        return (
            outcome, String(decoding: stdoutBytes, as: UTF8.self), String(decoding: stderrBytes, as: UTF8.self)
        )
    }

    /// The pids of live processes (not zombies) in process group `pgid`, read from /proc.
    public static func livingMembers(ofGroup pgid: pid_t) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var found: [pid_t] = []
        for entry in entries {
            guard let pid = pid_t(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // fields[0] is the state, fields[2] the process group.
            guard fields.count > 3, fields[0] != "Z", pid_t(fields[2]) == pgid else { continue }
            found.append(pid)
        }
        return found
    }

    // MARK: - internals

    private static func spawnError(_ spec: ProcessSpec, _ code: Int32) -> GobayError {
        GobayError.failure(
            "cannot run \(spec.arguments.first ?? "?"): \(String(cString: strerror(code)))",
            hint: "check that it is installed and on the PATH of the environment")
    }

    /// Finds argv[0] on the PATH of the child's environment.
    static func resolveExecutable(_ name: String, environment: [String: String]) -> String? {
        if name.contains("/") { return name }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Starts `spec` with `stdoutFD`/`stderrFD` as its output: its own process group, default
    /// signals, and no descriptor but 0, 1, 2 (and the spec's `descriptors` as 3, 4, ...), whatever
    /// close-on-exec flags gobay's libraries forgot. Optionally in a cgroup and as another user.
    static func spawn(_ spec: ProcessSpec, stdoutFD: Int32, stderrFD: Int32, stdinPath: String = "/dev/null") throws
        -> pid_t
    {
        guard let first = spec.arguments.first,
            let executable = resolveExecutable(first, environment: spec.environment)
        else {
            throw spawnError(spec, ENOENT)
        }
        let stdinFD = open(stdinPath, O_RDONLY | O_CLOEXEC)
        guard stdinFD >= 0 else { throw spawnError(spec, errno) }
        defer { close(stdinFD) }
        let fds = [stdinFD, stdoutFD, stderrFD] + spec.descriptors
        let argv = spec.arguments.map { strdup($0) } + [nil]
        let envp = spec.environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        guard let path = strdup(executable) else { throw spawnError(spec, ENOMEM) }
        let cwd = spec.workingDirectory.flatMap { strdup($0) }
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
            free(path)
            if let cwd { free(cwd) }
        }
        var pid: pid_t = 0
        let rc = fds.withUnsafeBufferPointer { fdBuffer in
            argv.withUnsafeBufferPointer { argvBuffer in
                envp.withUnsafeBufferPointer { envpBuffer in
                    var request = cgobay_spawn_request()
                    request.path = UnsafePointer(path)
                    request.argv = argvBuffer.baseAddress
                    request.envp = envpBuffer.baseAddress
                    request.cwd = cwd.map { UnsafePointer($0) }
                    request.fds = fdBuffer.baseAddress
                    request.fd_count = Int32(fds.count)
                    request.cgroup_fd = spec.cgroup?.descriptor ?? -1
                    if let user = spec.user {
                        request.set_ids = 1
                        request.uid = user.uid
                        request.gid = user.gid
                    }
                    request.no_new_privs = spec.noNewPrivileges ? 1 : 0
                    return cgobay_spawn(&request, &pid)
                }
            }
        }
        if rc != 0 {
            if let dir = spec.workingDirectory, !FileManager.default.fileExists(atPath: dir) {
                throw GobayError.failure("cannot run \(first): working directory \(dir) does not exist")
            }
            throw spawnError(spec, rc)
        }
        return pid
    }

    /// Reads the pipes until EOF and the child exits, enforcing the deadline and cancellation by
    /// killing the whole process group; then kills what is left of the group and checks it is gone.
    private static func supervise(
        pid: pid_t, cgroup: StepCgroup?, readFDs: [Int32], deadline: Date?, cancel: CancellationFlag?,
        onBytes: (Int32, [UInt8]) -> Void
    ) -> ProcessOutcome {
        var open = readFDs
        var status: Int32? = nil
        var timedOut = false
        var canceled = false
        var killSentAt: Date? = nil
        var exitWait: useconds_t = 200
        var buffer = [UInt8](repeating: 0, count: 65536)

        while status == nil || !open.isEmpty {
            if killSentAt == nil {
                if let cancel, cancel.isCancelled {
                    canceled = true
                } else if let deadline, Date() >= deadline {
                    timedOut = true
                }
                if canceled || timedOut {
                    kill(-pid, SIGTERM)
                    killSentAt = Date()
                }
            } else if let sent = killSentAt, Date().timeIntervalSince(sent) > 3 {
                kill(-pid, SIGKILL)
                cgroup?.kill()
            }
            if status == nil {
                var raw: Int32 = 0
                let r = waitpid(pid, &raw, WNOHANG)
                if r == pid { status = decodeWaitStatus(raw) }
            }
            if status != nil && !open.isEmpty {
                // The leader is gone: anything still holding the pipe belongs to its group.
                kill(-pid, SIGKILL)
                cgroup?.kill()
            }
            if open.isEmpty {
                if status != nil { break }
                // Output is closed, so the child is exiting: wait for it without adding latency.
                if deadline == nil && cancel == nil {
                    var raw: Int32 = 0
                    var r: pid_t
                    repeat { r = waitpid(pid, &raw, 0) } while r < 0 && errno == EINTR
                    status = r == pid ? decodeWaitStatus(raw) : -1
                } else {
                    usleep(exitWait)
                    exitWait = min(exitWait * 2, 20_000)
                }
                continue
            }
            var pollFDs = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&pollFDs, nfds_t(pollFDs.count), 50)
            if ready <= 0 { continue }
            for p in pollFDs where p.revents != 0 {
                let n = read(p.fd, &buffer, buffer.count)
                if n > 0 {
                    onBytes(p.fd, Array(buffer[0..<n]))
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    open.removeAll { $0 == p.fd }
                }
            }
        }
        reapGroup(pid)
        return ProcessOutcome(status: status ?? -1, timedOut: timedOut, canceled: canceled)
    }

    /// Kills whatever is left in the group and waits until /proc shows none of it.
    private static func reapGroup(_ pgid: pid_t) {
        if kill(-pgid, 0) != 0 { return }
        kill(-pgid, SIGKILL)
        for _ in 0..<200 {
            if livingMembers(ofGroup: pgid).isEmpty { return }
            usleep(10_000)
        }
    }

    private static func decodeWaitStatus(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        if signal == 0 { return (raw >> 8) & 0xff }
        return 128 + signal
    }
}

/// Splits a byte stream into lines, tolerating invalid UTF-8 and carriage returns.
struct LineSplitter {
    private var pending: [UInt8] = []

    mutating func feed(_ bytes: [UInt8]) -> [String] {
        pending += bytes
        var lines: [String] = []
        var start = 0
        for i in pending.indices where pending[i] == UInt8(ascii: "\n") {
            var end = i
            if end > start && pending[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            lines.append(String(decoding: pending[start..<end], as: UTF8.self))
            start = i + 1
        }
        pending.removeFirst(start)
        return lines
    }

    mutating func finish() -> String? {
        defer { pending = [] }
        return pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self)
    }
}

extension ProcessRunner {
    /// Replaces this process with `spec` (execve), keeping the terminal; for `gobay env exec`.
    public static func exec(_ spec: ProcessSpec) throws -> Never {
        guard let first = spec.arguments.first,
            let executable = resolveExecutable(first, environment: spec.environment)
        else {
            throw GobayError(
                "\(spec.arguments.first ?? "command") not found on the environment's PATH",
                hint: "PATH is \(spec.environment["PATH"] ?? "")")
        }
        if let dir = spec.workingDirectory { _ = chdir(dir) }
        // A step starts with stdin, stdout and stderr only (and its `descriptors` as 3, 4, ...),
        // as the step user.
        // Every source moves above the targets first, so no dup2 overwrites a later source.
        let high = spec.descriptors.map { fcntl($0, F_DUPFD, 64 + Int32(spec.descriptors.count)) }
        for (index, fd) in high.enumerated() where fd < 0 || dup2(fd, 3 + Int32(index)) < 0 {
            throw GobayError.failure("cannot pass descriptor \(spec.descriptors[index]): \(String(cString: strerror(errno)))")
        }
        cgobay_close_from(3 + Int32(spec.descriptors.count))
        if let user = spec.user {
            guard setgroups(0, nil) == 0, setgid(user.gid) == 0, setuid(user.uid) == 0 else {
                throw GobayError.failure("cannot switch to user \(user): \(String(cString: strerror(errno)))")
            }
        }
        if spec.noNewPrivileges { _ = cgobay_no_new_privs() }
        let argv = spec.arguments.map { strdup($0) } + [nil]
        let envp = spec.environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        execve(executable, argv, envp)
        throw GobayError.failure("cannot run \(executable): \(String(cString: strerror(errno)))")
    }
}

extension ProcessRunner {
    /// The pids of processes whose environment holds exactly `entry` ("KEY=value").
    public static func processes(withEnvironmentEntry entry: String) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        let needle = Array(entry.utf8)
        var found: [pid_t] = []
        for name in entries {
            guard let pid = pid_t(name), pid != getpid(),
                let data = FileManager.default.contents(atPath: "/proc/\(name)/environ")
            else { continue }
            if data.split(separator: 0).contains(where: { Array($0) == needle }) { found.append(pid) }
        }
        return found
    }

    /// The parent pid of `pid`, read from /proc, or nil.
    public static func parent(of pid: pid_t) -> pid_t? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? pid_t(fields[1]) : nil
    }

    /// Kills every process whose environment holds `entry`, and waits until none is left.
    public static func killProcesses(withEnvironmentEntry entry: String) {
        for _ in 0..<100 {
            let pids = processes(withEnvironmentEntry: entry)
            if pids.isEmpty { return }
            for pid in pids { kill(pid, SIGKILL) }
            usleep(20_000)
        }
    }
}

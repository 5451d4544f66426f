import CGobay
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child gobay started: its pid (also its process group id) and a pidfd that becomes readable
/// when it exits.
struct SpawnedProcess: Sendable {
    let pid: pid_t
    let pidfd: Int32
}

extension ProcessRunner {
    static func spawnError(_ spec: ProcessSpec, _ code: Int32) -> GobayError {
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
    /// The caller owns the returned pidfd.
    static func spawn(_ spec: ProcessSpec, stdoutFD: Int32, stderrFD: Int32) throws
        -> SpawnedProcess
    {
        guard let first = spec.arguments.first,
            let executable = resolveExecutable(first, environment: spec.environment)
        else {
            throw spawnError(spec, ENOENT)
        }
        let given = spec.stdinDescriptor
        let stdinFD = given ?? open(spec.stdinPath ?? "/dev/null", O_RDONLY | O_CLOEXEC)
        guard stdinFD >= 0 else { throw spawnError(spec, errno) }
        defer { if given == nil { close(stdinFD) } }
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
        var pidfd: Int32 = -1
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
                    return cgobay_spawn(&request, &pid, &pidfd)
                }
            }
        }
        if rc != 0 {
            if let dir = spec.workingDirectory, !FileManager.default.fileExists(atPath: dir) {
                throw GobayError.failure("cannot run \(first): working directory \(dir) does not exist")
            }
            throw spawnError(spec, rc)
        }
        return SpawnedProcess(pid: pid, pidfd: pidfd)
    }

    /// Two close-on-exec pipes' worth of descriptors, or the spawn error.
    static func makePipe(_ spec: ProcessSpec) throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard cgobay_pipe_cloexec(&fds) == 0 else { throw spawnError(spec, errno) }
        return (fds[0], fds[1])
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

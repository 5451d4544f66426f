import Foundation

/// Runs commands in a bubblewrap sandbox that mirrors the container layout without a daemon:
/// the toolchain read-only at /usr/local/go, the environment at /go, the build's directories at
/// their host paths, system directories read-only, a fresh /tmp, its own PID, IPC and UTS
/// namespaces (and network, with `network: none`), and `--die-with-parent`. Nothing else of the
/// host is writable, or visible at all: other environments are not mounted. The sandbox has no
/// privilege: a user namespace mapped to the step user, no capabilities, no-new-privs, and a
/// seccomp filter (`open_by_handle_at`, mount, ptrace, kernel modules, ...).
public struct SandboxExecutor: Executor {
    let environment: Environment
    let dataDir: String
    public let stepUser: ProcessUser?

    public var kind: ExecutorKind { .sandbox }

    public func path(_ host: String) -> String { environment.isolatedPath(host) }

    public func variables(mode: BuildMode?) -> [String: String] { environment.isolatedVariables(mode: mode) }

    public func prepare() throws {
        try prepareDirectories(environment)
        guard ProcessRunner.resolveExecutable("bwrap", environment: Git.environment) != nil else {
            throw GobayError(
                "environment \"\(environment.name)\" uses executor sandbox, but bubblewrap (bwrap) is not installed",
                hint: "apt-get install bubblewrap")
        }
    }

    public func run(_ command: StepCommand, deadline: Date?, onOutput: (String) -> Void) async throws -> ProcessOutcome {
        let filter = try SeccompFilter()
        var spec = ProcessSpec(
            wrap(command.arguments, workingDirectory: command.workingDirectory, writable: command.writable, seccompFD: 3),
            environment: command.environment)
        spec.descriptors = [filter.descriptor]
        spec.user = stepUser
        spec.noNewPrivileges = true
        return try await StepMarker().run(spec, deadline: deadline, onOutput: onOutput)
    }

    public func interactive(_ arguments: [String], mode: BuildMode?, workingDirectory: String?, tty: Bool) throws -> ProcessSpec {
        try prepare()
        // The filter goes to `env exec` too: gobay execs right after, which hands it over as fd 3.
        var spec = ProcessSpec(
            wrap(arguments, workingDirectory: workingDirectory ?? environment.dir, writable: [], seccompFD: 3, terminal: true),
            environment: variables(mode: mode))
        spec.descriptors = [try SeccompFilter.descriptorForExec()]
        spec.user = stepUser
        spec.noNewPrivileges = true
        return spec
    }

    /// The bwrap argument vector around `arguments`.
    /// A step gets a session of its own (no terminal to type into); `terminal` keeps the user's.
    func wrap(
        _ arguments: [String], workingDirectory: String, writable: [String], seccompFD: Int32, terminal: Bool = false
    ) -> [String] {
        // A user namespace with no capabilities (bwrap itself runs as the step user when gobay is
        // root), no new privileges, and a seccomp filter against the usual escape system calls.
        var argv = ["bwrap", "--die-with-parent", "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
        argv += ["--unshare-cgroup-try", "--cap-drop", "ALL", "--seccomp", String(seccompFD)]
        if !terminal { argv.append("--new-session") }
        if environment.config.network == "none" { argv.append("--unshare-net") }
        // System directories, read-only; merged-/usr links are recreated as links.
        for dir in ["/usr", "/etc", "/opt"] where FileManager.default.fileExists(atPath: dir) {
            argv += ["--ro-bind", dir, dir]
        }
        for dir in ["/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"] {
            if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: dir) {
                argv += ["--symlink", link, dir]
            } else if FileManager.default.fileExists(atPath: dir) {
                argv += ["--ro-bind", dir, dir]
            }
        }
        argv += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        // /usr is read-only, so the toolchain's mount point lives on a small tmpfs at /usr/local.
        argv += ["--tmpfs", "/usr/local", "--ro-bind", environment.toolchain.goroot, Environment.isolatedGoroot]
        argv += ["--remount-ro", "/usr/local"]
        for (host, target) in environment.gorootSymlinkMounts() where !target.hasPrefix("/usr/") {
            argv += ["--ro-bind", host, target]
        }
        argv += ["--bind", environment.dir, Environment.isolatedRoot]
        if let cache = environment.config.gocache { argv += ["--bind", cache, EnvironmentDirectory(path: Environment.isolatedRoot).gocache] }
        // Only this build's own directories are writable, at their host paths.
        for path in writable where environment.isolatedPath(path) == path {
            argv += ["--bind", path, path]
        }
        // Mirrors, read-only: checkouts borrow their objects, and go stamps builds with VCS data.
        let git = DataDirectory(dataDir).git
        if FileManager.default.fileExists(atPath: git) { argv += ["--ro-bind", git, git] }
        argv += ["--chdir", environment.isolatedPath(workingDirectory), "--"]
        return argv + arguments
    }
}

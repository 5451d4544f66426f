import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A cgroup (v2) made for one step: the step's first process starts inside it
/// (CLONE_INTO_CGROUP), so every process the step makes, however it detaches (setsid, double
/// fork, a dropped marker variable), is found and killed with `cgroup.kill` when the step ends.
public final class StepCgroup: Sendable {
    /// The cgroup's directory.
    public let path: String
    /// An open descriptor of the directory, for clone3.
    public let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// The parent of step cgroups (`<cgroup2 mount><gobay's own cgroup>/gobay-steps`), or nil when
    /// cgroup v2 is not mounted or not writable here (then steps rely on process groups and markers).
    static let parent: String? = {
        guard let mount = cgroup2Mount(), let own = ownCgroup() else { return nil }
        let dir = mount + (own == "/" ? "" : own) + "/gobay-steps"
        if mkdir(dir, 0o755) != 0 && errno != EEXIST { return nil }
        guard access(dir + "/cgroup.procs", W_OK) == 0 else { return nil }
        return dir
    }()

    /// A new cgroup for one step, or nil when cgroups are not available.
    public static func make() -> StepCgroup? {
        guard let parent else { return nil }
        let path = parent + "/step-" + UUID().uuidString.lowercased()
        guard mkdir(path, 0o755) == 0 else { return nil }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0, access(path + "/cgroup.kill", W_OK) == 0 else {
            if fd >= 0 { close(fd) }
            rmdir(path)
            return nil
        }
        return StepCgroup(path: path, descriptor: fd)
    }

    /// The pids in the cgroup.
    public var members: [pid_t] {
        guard let text = try? String(contentsOfFile: path + "/cgroup.procs", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { pid_t($0) }
    }

    /// Sends SIGKILL to every process in the cgroup, without waiting.
    public func kill() {
        let fd = open(path + "/cgroup.kill", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = write(fd, "1", 1)
        close(fd)
    }

    /// Kills every process in the cgroup, waits until it is empty, and removes it. The wait is on
    /// `cgroup.events`, which the kernel marks changed (POLLPRI) when the last process has left.
    public func killAllAndRemove() {
        let events = open(path + "/cgroup.events", O_RDONLY | O_CLOEXEC)
        defer { if events >= 0 { close(events) } }
        let giveUp = Date().addingTimeInterval(2)
        var buffer = [UInt8](repeating: 0, count: 256)
        var sawEmpty = false
        while true {
            if rmdir(path) == 0 || errno == ENOENT { return }
            kill()
            guard events >= 0, Date() < giveUp else { return }
            // Reading the file arms the next change notification; "populated 0" means it is empty.
            let n = buffer.withUnsafeMutableBytes { pread(events, $0.baseAddress, $0.count, 0) }
            if n > 0, String(decoding: buffer[0..<n], as: UTF8.self).contains("populated 0") {
                if sawEmpty { return }  // empty, yet rmdir refuses: nothing more to wait for
                sawEmpty = true
                continue
            }
            var entry = pollfd(fd: events, events: Int16(POLLPRI), revents: 0)
            _ = poll(&entry, 1, Int32(max(1, min(giveUp.timeIntervalSinceNow * 1000, 100))))
        }
    }

    private static func cgroup2Mount() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            // "... mountpoint options - fstype source superoptions"
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2, halves[1].hasPrefix("cgroup2 ") else { continue }
            let fields = halves[0].split(separator: " ")
            if fields.count > 4 { return String(fields[4]) }
        }
        return nil
    }

    private static func ownCgroup() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            return String(line.dropFirst(3))
        }
        return nil
    }
}

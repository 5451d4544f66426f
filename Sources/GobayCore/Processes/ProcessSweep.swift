import CGobay
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Finding processes in /proc (by process group or by a marker in their environment) and killing
/// them until none is left. A killed process is waited for through a pidfd, which wakes when it
/// has exited; /proc is read again only to find processes made in the meantime.
extension ProcessRunner {
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

    /// Whether `pid` has exited and waits for its parent to reap it.
    static func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }

    /// Kills every process whose environment holds `entry`, and waits until none is left.
    public static func killProcesses(withEnvironmentEntry entry: String) {
        sweep { processes(withEnvironmentEntry: entry) }
    }

    /// Kills whatever is left in process group `pgid` and waits until /proc shows none of it.
    static func reapGroup(_ pgid: pid_t) {
        if kill(-pgid, 0) != 0 { return }
        kill(-pgid, SIGKILL)
        sweep { livingMembers(ofGroup: pgid) }
    }

    /// Kills what `find` returns until it returns nothing (a process may fork between the scan
    /// and the kill), waiting on each killed process's pidfd for its exit; gives up after a few
    /// seconds on processes that will not die (stuck in the kernel).
    static func sweep(_ find: () -> [pid_t]) {
        let giveUp = Date().addingTimeInterval(5)
        while Date() < giveUp {
            let pids = find()
            if pids.isEmpty { return }
            killAndAwait(pids, until: giveUp)
        }
    }

    /// Sends SIGKILL to each of `pids` through a pidfd (never to a later process that reused the
    /// pid) and waits, without polling, until every one has exited or `until` passes.
    static func killAndAwait(_ pids: [pid_t], until: Date) {
        var fds: [pollfd] = []
        for pid in pids {
            let fd = cgobay_pidfd_open(pid)
            guard fd >= 0 else { continue }  // already gone
            _ = cgobay_pidfd_kill(fd, SIGKILL)
            fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
        }
        defer { fds.forEach { close($0.fd) } }
        var waiting = fds
        while !waiting.isEmpty {
            let left = Int32(max(0, min(until.timeIntervalSinceNow * 1000, 60_000)))
            let ready = poll(&waiting, nfds_t(waiting.count), left)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { return }
            waiting = waiting.filter { $0.revents == 0 }.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        }
    }
}

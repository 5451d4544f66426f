import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A uid:gid a child process runs as.
public struct ProcessUser: Sendable, Equatable, CustomStringConvertible {
    /// The user id.
    public var uid: uid_t
    /// The group id.
    public var gid: gid_t

    /// Creates a user from ids.
    public init(uid: uid_t, gid: gid_t) {
        self.uid = uid
        self.gid = gid
    }

    /// The user gobay itself runs as.
    public static var current: ProcessUser { ProcessUser(uid: getuid(), gid: getgid()) }

    /// Whether this is root.
    public var isRoot: Bool { uid == 0 }

    public var description: String { "\(uid):\(gid)" }

    /// Parses `uid`, `uid:gid` or a user name from the passwd database.
    public static func parse(_ text: String) -> ProcessUser? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if let uid = uid_t(parts[0]) {
            if parts.count == 1 { return ProcessUser(uid: uid, gid: gid_t(uid)) }
            guard parts.count == 2, let gid = gid_t(parts[1]) else { return nil }
            return ProcessUser(uid: uid, gid: gid)
        }
        guard parts.count == 1 else { return nil }
        return lookup(text)
    }

    /// The passwd entry of `name`, or nil.
    static func lookup(_ name: String) -> ProcessUser? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return ProcessUser(uid: entry.pw_uid, gid: entry.pw_gid)
    }

    /// The dedicated system user `name`, created (no home, no login shell) when it does not exist.
    /// Only root can create it. Creation is serialized machine-wide (in /run, which only root can
    /// write; else `lockPath`): useradd refuses to run while another holds /etc/passwd.
    static func dedicated(_ name: String, lockPath: String) throws -> ProcessUser {
        if let found = lookup(name) { return found }
        let lock = try FileLock(path: access("/run", W_OK) == 0 ? "/run/gobay-useradd.lock" : lockPath)
        lock.lockExclusive()
        defer { lock.unlock() }
        if let found = lookup(name) { return found }
        let result = try ProcessRunner.capture(
            ProcessSpec(
                ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                 "/usr/sbin/nologin", "--comment", "gobay build steps", name],
                environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]),
            deadline: Date().addingTimeInterval(60))
        guard result.outcome.succeeded, let made = lookup(name) else {
            throw GobayError.failure(
                "cannot create the build user \(name): \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))",
                hint: "create it yourself (useradd --system \(name)), name another with user:, or set allow_root_builds: true")
        }
        return made
    }
}

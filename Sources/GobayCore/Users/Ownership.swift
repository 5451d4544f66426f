import CGobay
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Hands directories to the user steps run as, so they can write there and gobay (root) can
/// still read, move and delete what they write.
public enum Ownership {
    /// Whether steps that run as `owner` may be given hard links to gobay's own files: only
    /// when gobay is root (its files are root's, not writable by others) and `owner` is another,
    /// unprivileged user, who can read them but neither write nor chmod them.
    public static func mayLinkGobayFiles(to owner: ProcessUser?) -> Bool {
        getuid() == 0 && owner.map { $0.uid != 0 } == true
    }

    /// Creates `path` and its missing parents, each new one owned by `owner` (when given).
    public static func makeDirectories(_ path: String, owner: ProcessUser?) throws {
        var missing: [String] = []
        var dir = path
        while !dir.isEmpty && dir != "/" && !FileManager.default.fileExists(atPath: dir) {
            missing.append(dir)
            dir = (dir as NSString).deletingLastPathComponent
        }
        for created in missing.reversed() {
            if mkdir(created, 0o755) != 0 && errno != EEXIST {
                throw GobayError.failure("cannot create \(created): \(String(cString: strerror(errno)))")
            }
            if let owner { _ = lchown(created, owner.uid, owner.gid) }
        }
    }

    /// Makes `paths` (recursively, never following a link) owned by `owner`, except regular
    /// files with more than one hard link. Only root can do this. What is handed over is often
    /// what the step user already owns and may be changing right now (an out dir, a checkout in
    /// a GOPATH), so the walk goes through descriptors: each directory is opened relative to its
    /// parent's with O_NOFOLLOW and each entry changed through a descriptor of its own, so a
    /// directory swapped for a link to /etc during the walk never leads gobay (root) to hand
    /// over what is there. A directory is handed over after what is below it.
    public static func hand(_ paths: [String], to owner: ProcessUser) throws {
        let existing = paths.filter { FileManager.default.fileExists(atPath: $0) }
        guard !existing.isEmpty else { return }
        guard getuid() == 0 else {
            throw GobayError(
                "steps run as user \(owner), which needs gobay to run as root",
                hint: "run gobay as root, or remove user: to run steps as gobay's own user")
        }
        for root in existing {
            let parent = (root as NSString).deletingLastPathComponent
            let parentFD = open(parent.isEmpty ? "." : parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard parentFD >= 0 else { throw handFailure(root, owner) }
            defer { close(parentFD) }
            try hand((root as NSString).lastPathComponent, in: parentFD, path: root, to: owner, depth: 0)
        }
    }

    /// Hands the entry `name` of the directory open as `parent` (and what is below it) to `owner`.
    private static func hand(_ name: String, in parent: Int32, path: String, to owner: ProcessUser, depth: Int) throws {
        let dir = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if dir >= 0 {
            defer { close(dir) }
            // Deeper than any checkout: a step made it; what is below stays the step user's own.
            if depth < 512 {
                for entry in try DirectoryEntries.list(fd: dir, path: path) {
                    try hand(entry.name, in: dir, path: path + "/" + entry.name, to: owner, depth: depth + 1)
                }
            }
            guard fchown(dir, owner.uid, owner.gid) == 0 else { throw handFailure(path, owner) }
            return
        }
        guard errno == ENOTDIR || errno == ELOOP else {
            if errno == ENOENT { return }
            throw handFailure(path, owner)
        }
        // Not a directory: the file or link itself, through a descriptor of its own.
        let fd = cgobay_open_path(parent, name)
        guard fd >= 0 else {
            if errno == ENOENT { return }
            throw handFailure(path, owner)
        }
        defer { close(fd) }
        // A file with more than one name is shared with another tree (a library's files are
        // hard links to one clean tree, read by every environment): it is never handed over,
        // or one environment's steps could write what another's read.
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw handFailure(path, owner) }
        if (info.st_mode & S_IFMT) == S_IFREG, info.st_nlink > 1 { return }
        guard cgobay_fchown_fd(fd, owner.uid, owner.gid) == 0 else { throw handFailure(path, owner) }
    }

    private static func handFailure(_ path: String, _ owner: ProcessUser) -> GobayError {
        GobayError.failure(
            "cannot hand \(path) to user \(owner): \(String(cString: strerror(errno)))",
            hint: "check free disk space and that gobay runs as root")
    }

    /// Throws, naming the directory and the fix, when `user` cannot reach `path` because a parent
    /// directory lets neither that user nor others through (e.g. a data dir under /root, mode 0700).
    public static func checkReachable(_ path: String, by user: ProcessUser, what: String) throws {
        var dir = (path as NSString).deletingLastPathComponent
        while !dir.isEmpty && dir != "/" {
            var info = stat()
            if stat(dir, &info) == 0 {
                let mode = info.st_mode
                let passes = info.st_uid == user.uid ? mode & 0o100 != 0
                    : info.st_gid == user.gid ? mode & 0o010 != 0 : mode & 0o001 != 0
                if !passes {
                    throw GobayError(
                        "\(what) runs steps as user \(user), who cannot reach \(path): \(dir) has mode "
                            + String(mode & 0o777, radix: 8),
                        hint: "put data_dir somewhere every user can traverse (e.g. /var/lib/gobay), or chmod o+x \(dir),"
                            + " or set allow_root_builds: true on the environment")
                }
            }
            dir = (dir as NSString).deletingLastPathComponent
        }
    }

    /// The owner of `path` (not following a link), or nil.
    public static func owner(of path: String) -> ProcessUser? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return ProcessUser(uid: info.st_uid, gid: info.st_gid)
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Hands directories to the user steps run as, so they can write there and gobay (root) can
/// still read, move and delete what they write.
public enum Ownership {
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

    /// Makes `paths` (recursively) owned by `owner`. Only root can do this.
    public static func hand(_ paths: [String], to owner: ProcessUser) throws {
        let existing = paths.filter { FileManager.default.fileExists(atPath: $0) }
        guard !existing.isEmpty else { return }
        guard getuid() == 0 else {
            throw GobayError(
                "steps run as user \(owner), which needs gobay to run as root",
                hint: "run gobay as root, or remove user: to run steps as gobay's own user")
        }
        let result = try ProcessRunner.capture(
            ProcessSpec(["chown", "-R", "-h", "--", owner.description] + existing, environment: ["PATH": "/usr/bin:/bin"]),
            deadline: Date().addingTimeInterval(600))
        guard result.outcome.succeeded else {
            throw GobayError.failure("cannot hand \(existing.joined(separator: ", ")) to user \(owner): \(result.stderr)")
        }
    }

    /// The owner of `path` (not following a link), or nil.
    public static func owner(of path: String) -> ProcessUser? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return ProcessUser(uid: info.st_uid, gid: info.st_gid)
    }
}

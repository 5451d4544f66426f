import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes files so that readers see either the old content or the new, never a half-written file.
public enum AtomicFile {
    /// Writes `data` to a temp file beside `path`, syncs it, and renames it over `path`.
    /// `mode` sets the file's permissions (e.g. 0o600 for a file holding secrets).
    public static func write(_ data: Data, to path: String, mode: Int? = nil) throws {
        // A bare file name ("gobay.yml") lives in the current directory.
        let parent = (path as NSString).deletingLastPathComponent
        let dir = parent.isEmpty ? "." : parent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = dir + "/.tmp-" + UUID().uuidString + "-" + (path as NSString).lastPathComponent
        let attributes = mode.map { [FileAttributeKey.posixPermissions: $0] }
        guard FileManager.default.createFile(atPath: tmp, contents: data, attributes: attributes) else {
            throw GobayError.failure("cannot write \(tmp)", hint: "check free disk space and permissions")
        }
        let fd = open(tmp, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
        if rename(tmp, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw GobayError.failure("cannot rename \(tmp) to \(path): \(reason)")
        }
    }

    /// Writes `text` to a temp file beside `path` and renames it over `path`, without syncing:
    /// for caches, whose loss in a crash only costs the work they save. Never follows a link at
    /// the temp name; returns false when it could not write.
    @discardableResult
    static func writeCache(_ text: String, to path: String, mode: mode_t = 0o600) -> Bool {
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { return false }
        let bytes = Array(text.utf8)
        let written = Glibc.write(fd, bytes, bytes.count)
        close(fd)
        guard written == bytes.count, rename(tmp, path) == 0 else {
            unlink(tmp)
            return false
        }
        return true
    }

    /// Creates `path`, which must not exist, holding `text`: for a file in a directory nobody
    /// else uses yet (a checkout being made), where a temp name and a sync would buy nothing.
    static func writeNew(_ text: String, to path: String, mode: mode_t = 0o644) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw GobayError.failure("cannot create \(path): \(String(cString: strerror(errno)))", hint: "check free disk space and permissions")
        }
        let bytes = Array(text.utf8)
        let written = Glibc.write(fd, bytes, bytes.count)
        let reason = String(cString: strerror(errno))
        close(fd)
        guard written == bytes.count else {
            unlink(path)
            throw GobayError.failure("cannot write \(path): \(reason)", hint: "check free disk space")
        }
    }
}

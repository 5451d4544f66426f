import Foundation

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
}

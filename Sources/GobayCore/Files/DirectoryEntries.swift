import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The entries of a directory as `readdir` gives them, with their types: what tree walks need,
/// without FileManager's per-entry bridging (a checkout of a few hundred files is walked on
/// every build).
enum DirectoryEntries {
    /// One entry: its name, and whether it is a directory or a regular file (a link is neither).
    struct Entry {
        var name: String
        var isDirectory: Bool
        var isRegularFile: Bool
    }

    /// The entries of `path` but `.` and `..`; throws when it cannot be read.
    static func list(_ path: String) throws -> [Entry] {
        guard let dir = opendir(path) else {
            throw GobayError.failure("cannot read directory \(path): \(String(cString: strerror(errno)))")
        }
        defer { closedir(dir) }
        var entries: [Entry] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            var isDirectory = entry.pointee.d_type == UInt8(DT_DIR)
            var isRegularFile = entry.pointee.d_type == UInt8(DT_REG)
            if entry.pointee.d_type == UInt8(DT_UNKNOWN) {
                // Some file systems do not say: ask, without following a link.
                var info = stat()
                let known = lstat(path + "/" + name, &info) == 0
                isDirectory = known && (info.st_mode & S_IFMT) == S_IFDIR
                isRegularFile = known && (info.st_mode & S_IFMT) == S_IFREG
            }
            entries.append(Entry(name: name, isDirectory: isDirectory, isRegularFile: isRegularFile))
        }
        return entries
    }

    /// Calls `visit` with every path below `root` (not `root` itself), parents before their
    /// entries; links are visited, never followed.
    static func walk(_ root: String, _ visit: (String, Bool) throws -> Void) throws {
        for entry in try list(root) {
            let path = root + "/" + entry.name
            try visit(path, entry.isDirectory)
            if entry.isDirectory { try walk(path, visit) }
        }
    }

    /// Removes `path` and everything below it, as far as it can (best effort, like `rm -rf`):
    /// a work dir of a few hundred files goes with one `unlink` each and no `stat`.
    static func remove(_ path: String) {
        if let entries = try? list(path) {
            for entry in entries {
                let child = path + "/" + entry.name
                if entry.isDirectory { remove(child) } else { unlink(child) }
            }
        }
        if rmdir(path) != 0 && errno == ENOTDIR { unlink(path) }
    }
}

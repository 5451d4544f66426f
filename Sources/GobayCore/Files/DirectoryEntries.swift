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
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw GobayError.failure("cannot read directory \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        return try list(fd: fd, path: path)
    }

    /// The name of a directory entry `readdir` returned.
    private static func name(of entry: UnsafeMutablePointer<dirent>) -> String {
        withUnsafePointer(to: entry.pointee.d_name) { pointer in
            pointer.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
        }
    }

    /// The entries of the directory open as `fd` (left open) but `.` and `..`; `path` names it
    /// in errors. Types the file system does not give are asked of the entry itself, never
    /// following a link.
    static func list(fd: Int32, path: String) throws -> [Entry] {
        let own = dup(fd)
        guard own >= 0, let dir = fdopendir(own) else {
            if own >= 0 { close(own) }
            throw GobayError.failure("cannot read directory \(path): \(String(cString: strerror(errno)))")
        }
        defer { closedir(dir) }
        // A dup shares its position with `fd`: start from the first entry whatever read it before.
        rewinddir(dir)
        var entries: [Entry] = []
        while let entry = readdir(dir) {
            let name = Self.name(of: entry)
            if name == "." || name == ".." { continue }
            var isDirectory = entry.pointee.d_type == UInt8(DT_DIR)
            var isRegularFile = entry.pointee.d_type == UInt8(DT_REG)
            if entry.pointee.d_type == UInt8(DT_UNKNOWN) {
                var info = stat()
                let known = fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0
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

    /// Removes `path` and everything below it, as far as it can (best effort, like `rm -rf`),
    /// never following a symbolic link. The trees gobay removes (a replaced work dir, an old
    /// GOPATH checkout) were written by steps, and a step may still change them while gobay,
    /// root, removes them: so every directory is opened relative to its parent's descriptor with
    /// O_NOFOLLOW, and every entry removed relative to its directory's descriptor. A directory
    /// swapped for a link to /etc between the listing and the descent is unlinked as a link,
    /// never entered; `path` itself, when a link, goes as a link. A work dir of a few hundred
    /// files goes with one `unlinkat` each and no `stat`.
    static func remove(_ path: String) {
        let parent = (path as NSString).deletingLastPathComponent
        let parentFD = open(parent.isEmpty ? "." : parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parentFD >= 0 else { return }
        defer { close(parentFD) }
        remove((path as NSString).lastPathComponent, in: parentFD, listedAsDirectory: false)
    }

    /// Removes the entry `name` of the directory open as `parent` (see `remove(_:)`).
    /// `listedAsDirectory`: what its directory entry said when it was listed, which may no
    /// longer be true; whatever `name` is now decides.
    static func remove(_ name: String, in parent: Int32, listedAsDirectory: Bool, depth: Int = 0) {
        if !listedAsDirectory && (unlinkat(parent, name, 0) == 0 || errno != EISDIR) { return }
        // A tree deeper than any checkout is left (a step made it to exhaust descriptors).
        guard depth < maxRemovalDepth else { return }
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            // Not a directory (any more): a link or a file in its place goes as itself.
            if errno == ELOOP || errno == ENOTDIR { unlinkat(parent, name, 0) }
            return
        }
        for child in (try? list(fd: fd, path: name)) ?? [] {
            remove(child.name, in: fd, listedAsDirectory: child.isDirectory, depth: depth + 1)
        }
        close(fd)
        unlinkat(parent, name, AT_REMOVEDIR)
    }

    /// How deep `remove` descends.
    static let maxRemovalDepth = 512
}

import CGobay
import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Moves what a build wrote into `<data_dir>/builds/<id>/artifacts`, a directory no step can
/// reach. A build's output is hostile: it is opened without following any symbolic link (on
/// the way or at the end), must be a regular file, and is copied byte for byte by gobay itself,
/// so a link to the database or a fifo in its place fails the build instead of being served.
public struct ArtifactStore {
    /// The build's store directory.
    public let directory: String

    /// A store writing into `directory`.
    public init(directory: String) { self.directory = directory }

    /// One stored artifact.
    public struct Stored: Sendable {
        /// Where it is now.
        public var path: String
        /// Its hex SHA-256.
        public var sha256: String
        /// Its size in bytes.
        public var size: Int64
    }

    /// Copies `relative` (below `base`, a directory gobay made) into the store as `name`, and
    /// removes the output. Throws a `StepFailure` naming what was found instead of a file.
    public func store(_ relative: String, below base: String, as name: String) throws -> Stored {
        let baseFD = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard baseFD >= 0 else { throw failure(name, "cannot open \(base): \(String(cString: strerror(errno)))") }
        defer { close(baseFD) }
        // O_NONBLOCK: opening a fifo must not wait for a writer.
        let fd = cgobay_open_beneath(baseFD, relative, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else {
            let code = -fd
            if code == ELOOP || code == EXDEV {
                throw failure(name, "the build output is a symbolic link (or lies behind one); only regular files are stored")
            }
            throw failure(name, "cannot open the build output: \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure(name, "cannot stat the build output") }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw failure(name, "the build output is a \(Self.kind(info.st_mode)), not a regular file")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let final = directory + "/" + name
        let tmp = directory + "/.tmp-" + name
        unlink(tmp)
        let out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o755)
        guard out >= 0 else { throw failure(name, "cannot create \(tmp): \(String(cString: strerror(errno)))") }
        var digest = SHA256()
        var size: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        do {
            defer { close(out) }
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 { throw failure(name, "cannot read the build output: \(String(cString: strerror(errno)))") }
                if n == 0 { break }
                try buffer.withUnsafeBytes { raw in
                    var offset = 0
                    while offset < n {
                        let w = write(out, raw.baseAddress.map { $0 + offset }, n - offset)
                        if w < 0 && errno == EINTR { continue }
                        if w < 0 { throw failure(name, "cannot write \(tmp): \(String(cString: strerror(errno)))") }
                        offset += w
                    }
                }
                buffer.withUnsafeBytes { digest.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                size += Int64(n)
            }
        } catch {
            unlink(tmp)
            throw error
        }
        guard rename(tmp, final) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw failure(name, "cannot store it: \(reason)")
        }
        _ = unlinkat(baseFD, relative, 0)
        return Stored(path: final, sha256: FileDigest.hex(digest.finalize()), size: size)
    }

    /// The bytes of a stored artifact, or nil when `path` is not a regular file inside build
    /// `id`'s store (the API serves nothing else, whatever a record says).
    public static func contents(dataDir: String, buildID id: Int64, path: String) -> Data? {
        let store = DataDirectory(dataDir).build(id).artifacts + "/"
        guard path.hasPrefix(store) else { return nil }
        let name = String(path.dropFirst(store.count))
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else { return nil }
        let dirFD = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else { return nil }
        defer { close(dirFD) }
        let fd = cgobay_open_beneath(dirFD, name, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return try? handle.readToEnd() ?? Data()
    }

    private func failure(_ name: String, _ message: String) -> StepFailure {
        StepFailure(status: .failed, message: "artifacts: \(name): \(message)")
    }

    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "directory"
        case S_IFIFO: return "fifo"
        case S_IFLNK: return "symbolic link"
        case S_IFSOCK: return "socket"
        case S_IFCHR, S_IFBLK: return "device"
        default: return "special file"
        }
    }
}

import CGobay
import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Stores what a build wrote as `<data_dir>/builds/<id>/artifacts/<name>`, a directory no step
/// can reach. A build's output is hostile: it is opened without following any symbolic link (on
/// the way or at the end), must be a regular file, and is copied byte for byte by gobay itself,
/// so a link to the database or a fifo in its place fails the build instead of being served.
///
/// With an object store (`<data_dir>/objects`), the copy lands there under its sha256 and the
/// build's artifact is a hard link to it: identical binaries are stored once, and an object is
/// never written again, so an older build's artifact never changes.
public struct ArtifactStore {
    /// The build's store directory.
    public let directory: String
    /// The content-addressed objects, or nil to keep a copy in `directory` alone.
    public let objects: String?
    /// Where the stamps of kept outputs go (`OutputStamp`), or nil to read every output.
    public let stamps: String?

    /// A store writing into `directory`, its content in `objects` when given; with `stamps`
    /// too, a kept output unchanged since gobay stored it is linked from its object unread.
    public init(directory: String, objects: String? = nil, stamps: String? = nil) {
        self.directory = directory
        self.objects = objects
        self.stamps = stamps
    }

    /// One stored artifact.
    public struct Stored: Sendable {
        /// Where it is now.
        public var path: String
        /// Its hex SHA-256.
        public var sha256: String
        /// Its size in bytes.
        public var size: Int64
        /// Whether an identical artifact was stored already (no new bytes on disk).
        public var deduplicated: Bool
    }

    /// Copies `relative` (below `base`, a directory gobay made) into the store as `name`. The
    /// output is removed unless `keepOutput` (a stable output path Go links into again only
    /// when something changed). Throws a `StepFailure` naming what was found instead of a file.
    public func store(_ relative: String, below base: String, as name: String, keepOutput: Bool = false) throws -> Stored {
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
        let output = base + "/" + relative
        if keepOutput, let objects, let stamps, let stamp = OutputStamp.read(for: output, in: stamps),
            stamp.describes(fd: fd), try linkExisting(Self.object(stamp.sha256, in: objects), as: final)
        {
            return Stored(path: final, sha256: stamp.sha256, size: Int64(info.st_size), deduplicated: true)
        }
        // The copy goes where it will stay: beside the objects (one file system, for the links),
        // else straight into the build's directory.
        let staging = objects ?? directory
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        let tmp = staging + "/.tmp-" + UUID().uuidString.lowercased()
        let (sha256, size) = try copy(fd, to: tmp, name: name)
        var deduplicated = false
        do {
            if let objects {
                deduplicated = try install(tmp, object: Self.object(sha256, in: objects), as: final)
            } else {
                try rename(tmp, over: final)
            }
        } catch {
            unlink(tmp)
            throw error
        }
        if !keepOutput {
            _ = unlinkat(baseFD, relative, 0)
        } else if let stamps, objects != nil {
            OutputStamp(fd: fd, sha256: sha256)?.write(for: output, in: stamps)
        }
        return Stored(path: final, sha256: sha256, size: size, deduplicated: deduplicated)
    }

    /// The object of content `sha256`: `objects/<first two hex digits>/<sha256>`.
    public static func object(_ sha256: String, in objects: String) -> String {
        objects + "/" + sha256.prefix(2) + "/" + sha256
    }

    /// Copies `fd` to a new file `tmp` (read-only, executable), hashing as it goes.
    private func copy(_ fd: Int32, to tmp: String, name: String) throws -> (String, Int64) {
        let out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o755)
        guard out >= 0 else { throw failure(name, "cannot create \(tmp): \(String(cString: strerror(errno)))") }
        var digest = SHA256()
        var size: Int64 = 0
        // Not zeroed, and small enough to come from the heap rather than a fresh mapping each
        // time (a zeroed MiB cost every build a memset and 256 page faults).
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 64)
        defer { buffer.deallocate() }
        do {
            defer { close(out) }
            guard let base = buffer.baseAddress else { throw failure(name, "cannot allocate a copy buffer") }
            while true {
                let n = read(fd, base, buffer.count)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { throw failure(name, "cannot read the build output: \(String(cString: strerror(errno)))") }
                if n == 0 { break }
                var offset = 0
                while offset < n {
                    let w = write(out, base + offset, n - offset)
                    if w < 0 && errno == EINTR { continue }
                    if w < 0 { throw failure(name, "cannot write \(tmp): \(String(cString: strerror(errno)))") }
                    offset += w
                }
                digest.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                size += Int64(n)
            }
            // Objects are never written again: no write bit for anyone.
            guard fchmod(out, 0o555) == 0 else { throw failure(name, "cannot chmod \(tmp)") }
        } catch {
            unlink(tmp)
            throw error
        }
        return (FileDigest.hex(digest.finalize()), size)
    }

    /// Links the object of `tmp`'s content as `final`: the object that is there (then `tmp` goes,
    /// and this returns true), else `tmp` itself, which becomes the object. Nothing is replaced
    /// and nothing waits: an object `collect` removes meanwhile is made again, and when two
    /// builds make one at once, one of them keeps a copy of its own.
    private func install(_ tmp: String, object: String, as final: String) throws -> Bool {
        let name = (final as NSString).lastPathComponent
        try FileManager.default.createDirectory(
            atPath: (object as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if try linkExisting(object, as: final) {
            unlink(tmp)
            return true
        }
        // Gone meanwhile, or on another file system: this copy is the artifact.
        try rename(tmp, over: final)
        // The object is made with no moment at which it exists unlinked from this build.
        if Glibc.link(final, object) != 0 && errno != EEXIST && errno != EXDEV {
            throw failure(name, "cannot store object \(object): \(String(cString: strerror(errno)))")
        }
        return false
    }

    /// Links `object`, when it is there, as `final`; false when it is not (or cannot be linked).
    private func linkExisting(_ object: String, as final: String) throws -> Bool {
        let linkTemp = directory + "/.link-" + (final as NSString).lastPathComponent
        var info = stat()
        guard lstat(object, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return false }
        unlink(linkTemp)
        guard Glibc.link(object, linkTemp) == 0 else { return false }
        try rename(linkTemp, over: final)
        return true
    }

    private func rename(_ from: String, over to: String) throws {
        guard Glibc.rename(from, to) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(from)
            throw failure((to as NSString).lastPathComponent, "cannot store it: \(reason)")
        }
    }

    /// Removes every object no build links to any more (its link count is 1); returns the
    /// bytes freed. A build storing the same content at that moment links the object first or
    /// makes it again.
    public static func collect(objects: String) -> Int64 {
        var freed: Int64 = 0
        guard let shards = try? FileManager.default.contentsOfDirectory(atPath: objects) else { return 0 }
        for shard in shards where shard.count == 2 {
            let dir = objects + "/" + shard
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            for name in names where name.count == 64 {
                var info = stat()
                let path = dir + "/" + name
                guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_nlink == 1 else { continue }
                if unlink(path) == 0 { freed += Int64(info.st_size) }
            }
        }
        return freed
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

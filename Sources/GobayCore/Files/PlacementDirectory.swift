import CGobay
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A directory gobay (root) places something in where a step's user can write: an environment's
/// work dir or out dir, a GOPATH's `src/<import path>` parent. Each directory from the data dir
/// down is opened relative to the one above it with O_NOFOLLOW (missing ones are made and handed
/// to the step user), so a directory a step swapped for a link to /etc is refused instead of
/// followed, and what gobay then does is done in the directory it opened, wherever its path
/// leads by then: `path` names it through this process's descriptor (`/proc/<pid>/fd/<n>`), which
/// git, run by gobay, can use too.
final class PlacementDirectory: Sendable {
    /// The open directory.
    let descriptor: Int32
    /// The directory's path as configured, for messages.
    let shownAs: String

    /// The directory itself, by descriptor, for paths below it.
    var path: String { "/proc/\(getpid())/fd/\(descriptor)" }

    /// Opens `directory`, making what is missing (owned by `owner`, when given) unless `create` is
    /// false. Below `anchor` (the data dir, or an environment's dir, whose own entry only gobay
    /// can change), no component may be a symbolic link; a directory outside it is opened as
    /// configured.
    init(_ directory: String, anchor: String, owner: ProcessUser?, create: Bool = true) throws {
        shownAs = directory
        let root = anchor.hasSuffix("/") ? String(anchor.dropLast()) : anchor
        guard directory.hasPrefix(root + "/") else {
            if create { try Ownership.makeDirectories(directory, owner: owner) }
            descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw GobayError.failure("cannot open \(directory): \(String(cString: strerror(errno)))")
            }
            return
        }
        // The anchor is made as configured (an environment's dir before its first build).
        if create && access(root, F_OK) != 0 { try Ownership.makeDirectories(root, owner: owner) }
        var fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw GobayError.failure("cannot open \(root): \(String(cString: strerror(errno)))") }
        var reached = root
        for component in directory.dropFirst(root.count + 1).split(separator: "/") where component != "." {
            let name = String(component)
            reached += "/" + name
            guard name != ".." else {
                close(fd)
                throw GobayError.failure("\(directory) leaves \(root)")
            }
            if create, mkdirat(fd, name, 0o755) == 0, let owner {
                _ = fchownat(fd, name, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW)
            }
            let next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let failure = errno
            close(fd)
            guard next >= 0 else {
                if failure == ELOOP || failure == ENOTDIR {
                    throw GobayError(
                        "\(reached) is not a directory (a link, or a file): gobay does not follow links where builds can write",
                        hint: "remove \(reached) (a build's step may have put it there); gobay makes the directory again")
                }
                throw GobayError.failure("cannot open \(reached): \(String(cString: strerror(failure)))")
            }
            fd = next
        }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// The content of `name` in the directory when it is a regular file (not a link, a fifo or
    /// a directory in its place); nil otherwise or when it cannot be read.
    func readRegularFile(_ name: String) -> Data? { readRegularFileAndStat(name)?.data }

    /// `readRegularFile`, with what `fstat` said of the file read.
    func readRegularFileAndStat(_ name: String) -> (data: Data, info: stat)? {
        let fd = openat(descriptor, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        do {
            return (try handle.readToEnd() ?? Data(), info)
        } catch {
            return nil
        }
    }

    /// Whether `relative` (below the directory, e.g. `vendor/modules.txt`) is a regular file,
    /// reached without following any link on the way or at the end.
    func holdsRegularFile(_ relative: String) -> Bool {
        // O_NONBLOCK: a fifo in its place is opened without waiting for a writer.
        let fd = cgobay_open_beneath(descriptor, relative, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var info = stat()
        return fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// A new descriptor of the directory, for work that outlives this object (the caller closes it).
    func duplicate() -> Int32 { fcntl(descriptor, F_DUPFD_CLOEXEC, 0) }
}

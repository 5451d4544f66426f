import CGobay
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Copies a directory tree of regular files, directories and symbolic links. Directories are
/// always made anew. Files are hard links to the source's when `link` is set (the caller knows
/// no one who reads the copy can write the source's files), else each a reflink where the
/// filesystem can, else a kernel-side copy (`copy_file_range`): a file of its own.
///
/// The copy is often made where a step's user can write (a work dir's parent, a GOPATH), while
/// another step of that user may run. So it is made through descriptors: every directory it
/// makes is opened (never following a link) right after `mkdirat`, and everything below is
/// made relative to that descriptor, so a directory renamed or swapped for a link to /etc on
/// the way never redirects gobay (root). A directory is handed to `owner` only once everything
/// below it is in place: until then nobody else can add, rename or replace what is in it.
enum TreeCopy {
    /// Copies the contents of `source` into `target`, which must not exist yet; returns the
    /// number of files copied or linked. With `owner`, what the copy makes of its own
    /// (directories, copied files, symbolic links) becomes theirs; linked files stay the
    /// source's owner's.
    @discardableResult
    static func copy(
        _ source: String, to target: String, link: Bool = false, skipping skipped: Set<String> = [],
        owner: ProcessUser? = nil
    ) throws -> Int {
        let sourceFD = open(source, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard sourceFD >= 0 else { throw GobayError.failure("cannot copy \(source): not a directory") }
        defer { close(sourceFD) }
        let parent = (target as NSString).deletingLastPathComponent
        let parentFD = open(parent.isEmpty ? "." : parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parentFD >= 0 else {
            throw GobayError.failure("cannot open \(parent): \(String(cString: strerror(errno)))")
        }
        defer { close(parentFD) }
        let job = Job(link: link, owner: owner)
        return try job.directory(
            sourceFD, source: source, into: parentFD, name: (target as NSString).lastPathComponent, target: target,
            skipping: skipped)
    }

    struct Job {
        let link: Bool
        let owner: ProcessUser?

        /// Makes the directory `name` in `parentFD` and copies the directory open as `sourceFD`
        /// into it; hands it over last.
        func directory(
            _ sourceFD: Int32, source: String, into parentFD: Int32, name: String, target: String, skipping skipped: Set<String> = []
        ) throws -> Int {
            var info = stat()
            guard fstat(sourceFD, &info) == 0 else {
                throw GobayError.failure("cannot read \(source): \(String(cString: strerror(errno)))")
            }
            guard mkdirat(parentFD, name, info.st_mode & 0o7777) == 0 else {
                throw GobayError.failure("cannot create \(target): \(String(cString: strerror(errno)))")
            }
            let targetFD = openat(parentFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard targetFD >= 0 else {
                throw GobayError.failure("cannot open \(target): \(String(cString: strerror(errno)))")
            }
            defer { close(targetFD) }
            var files = 0
            for listed in try DirectoryEntries.list(fd: sourceFD, path: source) where !skipped.contains(listed.name) {
                files += try entry(listed, of: sourceFD, source: source, into: targetFD, target: target)
            }
            // Everything below is in place: only now may the owner change what is in it.
            if let owner, fchown(targetFD, owner.uid, owner.gid) != 0 { throw handFailure(target, owner) }
            return files
        }

        /// Copies (or links) one entry of the directory open as `sourceFD`; returns the files made.
        func entry(
            _ listed: DirectoryEntries.Entry, of sourceFD: Int32, source: String, into targetFD: Int32, target: String
        ) throws -> Int {
            let name = listed.name
            // A regular file to link needs no stat; a link that fails (across file systems) is
            // looked at below.
            if link && listed.isRegularFile && linkat(sourceFD, name, targetFD, name, 0) == 0 { return 1 }
            var entry = stat()
            guard fstatat(sourceFD, name, &entry, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw GobayError.failure("cannot read \(source)/\(name): \(String(cString: strerror(errno)))")
            }
            switch entry.st_mode & S_IFMT {
            case S_IFDIR:
                let childFD = openat(sourceFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard childFD >= 0 else {
                    throw GobayError.failure("cannot read \(source)/\(name): \(String(cString: strerror(errno)))")
                }
                defer { close(childFD) }
                return try directory(childFD, source: source + "/" + name, into: targetFD, name: name, target: target + "/" + name)
            case S_IFREG:
                // A link across filesystems (EXDEV) or refused falls back to a copy.
                if link && linkat(sourceFD, name, targetFD, name, 0) == 0 { return 1 }
                let result = cgobay_copy_file_at(sourceFD, name, targetFD, name, UInt32(entry.st_mode & 0o777))
                guard result == 0 else {
                    throw GobayError.failure(
                        "cannot copy \(source)/\(name) to \(target)/\(name): \(String(cString: strerror(-result)))",
                        hint: "check free disk space")
                }
                try hand(name, in: targetFD, target: target)
                return 1
            case S_IFLNK:
                guard let destination = TreeCopy.destination(of: name, in: sourceFD) else {
                    throw GobayError.failure("cannot read link \(source)/\(name): \(String(cString: strerror(errno)))")
                }
                guard symlinkat(destination, targetFD, name) == 0 else {
                    throw GobayError.failure("cannot create link \(target)/\(name): \(String(cString: strerror(errno)))")
                }
                try hand(name, in: targetFD, target: target)
                return 0
            default:
                return 0
            }
        }

        /// Hands `name` in the directory open as `dirFD` (a file or link the copy made) to the owner.
        private func hand(_ name: String, in dirFD: Int32, target: String) throws {
            guard let owner, fchownat(dirFD, name, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) != 0 else { return }
            throw handFailure(target + "/" + name, owner)
        }

        private func handFailure(_ path: String, _ owner: ProcessUser) -> GobayError {
            GobayError.failure(
                "cannot hand \(path) to user \(owner): \(String(cString: strerror(errno)))",
                hint: "check free disk space and that gobay runs as root")
        }
    }

    /// What the symbolic link `name` in the directory open as `dirFD` points to, NUL-terminated;
    /// nil when it cannot be read (not a link, gone).
    static func destination(of name: String, in dirFD: Int32) -> [CChar]? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlinkat(dirFD, name, &buffer, buffer.count - 1)
        guard length >= 0 else { return nil }
        return Array(buffer[0..<length]) + [0]
    }
}

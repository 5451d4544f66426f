import CGobay
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Copies a directory tree of regular files, directories and symbolic links. Directories are
/// always made anew. Files are hard links to the source's when `link` is set (the caller knows
/// no one who reads the copy can write the source's files), else each a reflink where the
/// filesystem can, else a kernel-side copy (`copy_file_range`): a file of its own.
enum TreeCopy {
    /// Copies the contents of `source` into `target`, which must not exist yet; returns the
    /// number of files copied or linked.
    @discardableResult
    /// With `owner`, what the copy makes of its own (directories, copied files, symbolic links)
    /// becomes theirs as it is made; linked files stay the source's owner's.
    static func copy(
        _ source: String, to target: String, link: Bool = false, skipping skipped: Set<String> = [],
        owner: ProcessUser? = nil
    ) throws -> Int {
        var info = stat()
        guard lstat(source, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw GobayError.failure("cannot copy \(source): not a directory")
        }
        guard mkdir(target, info.st_mode & 0o7777) == 0 else {
            throw GobayError.failure("cannot create \(target): \(String(cString: strerror(errno)))")
        }
        func hand(_ path: String) throws {
            guard let owner, lchown(path, owner.uid, owner.gid) != 0 else { return }
            throw GobayError.failure(
                "cannot hand \(path) to user \(owner): \(String(cString: strerror(errno)))",
                hint: "check free disk space and that gobay runs as root")
        }
        try hand(target)
        var files = 0
        for listed in try DirectoryEntries.list(source) where !skipped.contains(listed.name) {
            let name = listed.name
            let from = source + "/" + name
            let to = target + "/" + name
            // A regular file to link needs no stat; a link that fails (across file systems) is
            // looked at below.
            if link && listed.isRegularFile && Glibc.link(from, to) == 0 {
                files += 1
                continue
            }
            var entry = stat()
            guard lstat(from, &entry) == 0 else {
                throw GobayError.failure("cannot read \(from): \(String(cString: strerror(errno)))")
            }
            switch entry.st_mode & S_IFMT {
            case S_IFDIR:
                files += try copy(from, to: to, link: link, owner: owner)
            case S_IFREG:
                // A link across filesystems (EXDEV) or refused falls back to a copy.
                if link && Glibc.link(from, to) == 0 {
                    files += 1
                    continue
                }
                let result = cgobay_copy_file(from, to, UInt32(entry.st_mode & 0o777))
                guard result == 0 else {
                    throw GobayError.failure(
                        "cannot copy \(from) to \(to): \(String(cString: strerror(-result)))",
                        hint: "check free disk space")
                }
                try hand(to)
                files += 1
            case S_IFLNK:
                let link = try FileManager.default.destinationOfSymbolicLink(atPath: from)
                guard symlink(link, to) == 0 else {
                    throw GobayError.failure("cannot create link \(to): \(String(cString: strerror(errno)))")
                }
                try hand(to)
            default:
                continue
            }
        }
        return files
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension TreeCopy {
    /// Brings `name` in the directory open as `parentFD`, a linked copy of an earlier tree (the
    /// work dir an earlier build of the project left), in line with `source`, in place: what is
    /// not in `source` goes, a file that is not a link to `source`'s file is linked again, a
    /// directory of another owner or mode is made so again, and what is already right stays (a
    /// new commit's work dir changes only where the commit did). A tree of links and a
    /// handful of directories is checked with a few `fstatat`s instead of being made anew and the
    /// old one removed: on ext4 every new inode scans past the inodes freed in the last minute.
    /// What a step left or changed in the work dir (it is theirs) is undone the same way, and
    /// through descriptors, never following a link (`TreeCopy`). Returns false, changing nothing,
    /// when `name` is not a directory of `owner`'s (it is then made anew); throws when the sync
    /// fails midway (the caller makes the tree anew).
    static func syncLinked(_ source: String, into parentFD: Int32, name: String, target: String, owner: ProcessUser) throws -> Bool {
        let targetFD = openat(parentFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard targetFD >= 0 else { return false }
        defer { close(targetFD) }
        var info = stat()
        guard fstat(targetFD, &info) == 0, info.st_uid == owner.uid else { return false }
        let sourceFD = open(source, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard sourceFD >= 0 else { throw GobayError.failure("cannot copy \(source): not a directory") }
        defer { close(sourceFD) }
        try Job(link: true, owner: owner).sync(sourceFD, source: source, into: targetFD, target: target)
        return true
    }
}

extension TreeCopy.Job {
    /// Makes the directory open as `targetFD` (the owner's) hold what the one open as `sourceFD`
    /// does (see `TreeCopy.syncLinked`).
    fileprivate func sync(_ sourceFD: Int32, source: String, into targetFD: Int32, target: String) throws {
        var want = stat()
        var have = stat()
        guard fstat(sourceFD, &want) == 0, fstat(targetFD, &have) == 0 else {
            throw GobayError.failure("cannot read \(target): \(String(cString: strerror(errno)))")
        }
        if have.st_mode & 0o7777 != want.st_mode & 0o7777, fchmod(targetFD, want.st_mode & 0o7777) != 0 {
            throw GobayError.failure("cannot chmod \(target): \(String(cString: strerror(errno)))")
        }
        let wanted = try DirectoryEntries.list(fd: sourceFD, path: source)
        var present: [String: DirectoryEntries.Entry] = [:]
        for entry in try DirectoryEntries.list(fd: targetFD, path: target) { present[entry.name] = entry }
        let wantedNames = Set(wanted.map(\.name))
        for (name, entry) in present where !wantedNames.contains(name) {
            DirectoryEntries.remove(name, in: targetFD, listedAsDirectory: entry.isDirectory)
        }
        for entry in wanted {
            if let existing = present[entry.name] {
                if try keeps(entry.name, of: sourceFD, source: source, in: targetFD, target: target) { continue }
                DirectoryEntries.remove(entry.name, in: targetFD, listedAsDirectory: existing.isDirectory)
            }
            _ = try self.entry(entry, of: sourceFD, source: source, into: targetFD, target: target)
        }
    }

    /// Whether the target's `name` is already what the copy would make: a link to the source's
    /// file, a symbolic link of the owner's to the same place, or a directory of the owner's
    /// (then synced in turn).
    private func keeps(_ name: String, of sourceFD: Int32, source: String, in targetFD: Int32, target: String) throws -> Bool {
        var want = stat()
        guard fstatat(sourceFD, name, &want, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw GobayError.failure("cannot read \(source)/\(name): \(String(cString: strerror(errno)))")
        }
        var have = stat()
        guard fstatat(targetFD, name, &have, AT_SYMLINK_NOFOLLOW) == 0 else { return false }
        switch want.st_mode & S_IFMT {
        case S_IFREG:
            return have.st_dev == want.st_dev && have.st_ino == want.st_ino
        case S_IFLNK:
            guard (have.st_mode & S_IFMT) == S_IFLNK, have.st_uid == owner?.uid, let wanted = TreeCopy.destination(of: name, in: sourceFD)
            else { return false }
            return TreeCopy.destination(of: name, in: targetFD) == wanted
        case S_IFDIR:
            guard (have.st_mode & S_IFMT) == S_IFDIR else { return false }
            let childTarget = openat(targetFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard childTarget >= 0 else { return false }
            defer { close(childTarget) }
            // Checked on what was opened: a directory swapped in since the fstatat is judged itself.
            guard fstat(childTarget, &have) == 0, have.st_uid == owner?.uid else { return false }
            let childSource = openat(sourceFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard childSource >= 0 else {
                throw GobayError.failure("cannot read \(source)/\(name): \(String(cString: strerror(errno)))")
            }
            defer { close(childSource) }
            try sync(childSource, source: source + "/" + name, into: childTarget, target: target + "/" + name)
            return true
        default:
            return false
        }
    }
}

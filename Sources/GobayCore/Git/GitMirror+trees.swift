import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension GitMirror {
    /// `checkout(commit:into:owner:)` for steps that run as `owner`, an unprivileged user who can
    /// read gobay's files but neither write nor chmod them: the commit's clean tree is checked
    /// out once, gobay's and read-only for others (`trees`, the project's tree directory, keeps
    /// only the newest; a new commit's is the older one checked out at it in place), and `dir`
    /// is made of hard links to its files, with directories and a
    /// `.git` of its own that belong to `owner`. Making a file is what a checkout costs on most
    /// filesystems; a link is a twentieth of it, so an unchanged commit checks out in the time of
    /// its directories. A step that replaces a file replaces its own link; none can change the
    /// clean tree, which the next build links again.
    /// `madeCleanTree`: the build's plan made the commit's clean tree just now
    /// (`advanceCleanTree`), so it is no second build's to refresh.
    public func linkedCheckout(
        commit: String, trees: String, lock: String, into dir: String, owner: ProcessUser, madeCleanTree: Bool = false
    ) throws {
        try FileManager.default.createDirectory(atPath: trees, withIntermediateDirectories: true)
        let held = try FileLock(path: lock)
        held.lockExclusive()
        defer { held.unlock() }
        let tree = trees + "/" + commit
        if !FileManager.default.fileExists(atPath: tree) {
            if let older = try advanceableTree(in: trees, besides: commit) {
                try advance(older, to: commit, at: tree)
            } else {
                try cleanTree(commit: commit, at: tree)
            }
        } else if !madeCleanTree && !FileManager.default.fileExists(atPath: tree + "/.git/" + Self.refreshedMarker) {
            // A second build of the commit. The checkout wrote its index in the same second as
            // the files, so every entry is "racily clean" and each `git status` (go build's VCS
            // stamp) reads every file again: files dated a little earlier and the index
            // refreshed once make it exact for every build after. (Not on the first build: a
            // stream of new commits would pay a git process each for nothing.)
            try Self.backdate(tree, by: 10)
            try Git.run(["-C", tree, "update-index", "-q", "--refresh"])
            guard FileManager.default.createFile(atPath: tree + "/.git/" + Self.refreshedMarker, contents: nil) else {
                throw GobayError.failure("cannot write \(tree)/.git/\(Self.refreshedMarker)", hint: "check free disk space")
            }
        }
        // Older commits' trees go: a work dir keeps its links to them, not the trees. Renamed
        // aside under the lock, removed while the build goes on.
        for entry in (try? DirectoryEntries.list(trees)) ?? []
        where entry.name != commit && !entry.name.hasPrefix(Sweeper.asidePrefix) {
            let aside = Sweeper.asideName(for: trees + "/" + entry.name)
            if rename(trees + "/" + entry.name, aside) == 0 { Sweeper.remove(aside) }
        }
        // Its .git too: the clean tree's index describes these very files (the same inodes), so
        // `git status` finds them clean without reading them; git replaces a file of .git (a
        // new one renamed in), never writes into one.
        // The work dir an earlier build left is brought in line in place; one that cannot be
        // (none yet, not the step user's, a sync that failed midway) is made anew.
        let parent = try PlacementDirectory((dir as NSString).deletingLastPathComponent, anchor: dataDir, owner: owner)
        let synced = try? TreeCopy.syncLinked(
            tree, into: parent.descriptor, name: (dir as NSString).lastPathComponent, target: dir, owner: owner)
        if synced == true { return }
        // The directories (and any file that had to be copied) are handed over once what is
        // below each is in place; a linked file stays gobay's.
        try place(dir, owner: owner, removingOldInBackground: true) { tmp in
            try TreeCopy.copy(tree, to: tmp, link: true, owner: owner)
        }
    }

    /// Makes the clean tree of `commit` (a full commit id the mirror holds) from an older one in
    /// `trees`, when there is an older one and none of `commit` yet: what `linkedCheckout` would
    /// do first, done as a build is planned so its go.mod is read from a file. Returns whether
    /// it made the tree; false changes nothing (a failed checkout leaves the older tree).
    public func advanceCleanTree(to commit: String, trees: String, lock: String) -> Bool {
        guard FileManager.default.fileExists(atPath: trees), let held = try? FileLock(path: lock) else { return false }
        held.lockExclusive()
        defer { held.unlock() }
        let tree = trees + "/" + commit
        guard !FileManager.default.fileExists(atPath: tree), let older = try? advanceableTree(in: trees, besides: commit)
        else { return false }
        return (try? advance(older, to: commit, at: tree)) != nil
    }

    /// The clean tree of an earlier commit in `trees` that a new commit's may be made from: a
    /// directory of gobay's with a `.git` of its own (not one set aside, not a half-made one).
    private func advanceableTree(in trees: String, besides commit: String) throws -> String? {
        for entry in try DirectoryEntries.list(trees) where entry.isDirectory && entry.name != commit && !entry.name.hasPrefix(".") {
            let candidate = trees + "/" + entry.name
            var info = stat()
            guard lstat(candidate + "/.git/HEAD", &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == geteuid()
            else { continue }
            return candidate
        }
        return nil
    }

    /// Makes `tree`, the clean tree of `commit`, from `older`, the clean tree of an earlier commit,
    /// as a Jenkins workspace moves to a new commit: renamed aside, checked out at `commit` in
    /// place, renamed into place. git writes only the files that differ, and each as a new file
    /// (it unlinks the old one first), so a work dir's links to the older tree keep the older
    /// content; the files that did not change keep their inodes, their dates and their index
    /// entries. A checkout git refuses before it writes anything (no such commit) puts the older
    /// tree back; what fails midway is removed: the next build makes the tree afresh.
    private func advance(_ older: String, to commit: String, at tree: String) throws {
        let staging = (tree as NSString).deletingLastPathComponent + "/.tmp-\(UUID().uuidString)"
        guard rename(older, staging) == 0 else {
            throw GobayError.failure("cannot move \(older) aside: \(String(cString: strerror(errno)))", hint: "check free disk space")
        }
        do {
            try Git.run(["-C", staging, "checkout", "--quiet", "--force", "--detach", commit])
        } catch {
            // Refused before writing anything (not a commit): the older tree goes back as it was.
            let olderCommit = (older as NSString).lastPathComponent
            let unchanged =
                (try? Git.run(["-C", staging, "rev-parse", "HEAD"])) == olderCommit
                && (try? Git.run(["-C", staging, "status", "--porcelain", "--untracked-files=all"])) == ""
            if !unchanged || rename(staging, older) != 0 { Sweeper.remove(staging) }
            throw error
        }
        do {
            // The files changed: a later second build dates and refreshes them again.
            unlink(staging + "/.git/" + Self.refreshedMarker)
            try Self.readOnlyForOthers(staging)
            guard rename(staging, tree) == 0 else {
                throw GobayError.failure("cannot place \(tree): \(String(cString: strerror(errno)))", hint: "check free disk space")
            }
        } catch {
            Sweeper.remove(staging)
            throw error
        }
    }

    /// Makes `tree`, the clean tree of `commit`, unless it exists: checked out beside it, read-only
    /// for others (its files are hard-linked into trees whose steps must not write them),
    /// `finish`ed (a library adds a go.mod), then renamed into place.
    public func cleanTree(commit: String, at tree: String, finish: (String) throws -> Void = { _ in }) throws {
        if FileManager.default.fileExists(atPath: tree) { return }
        let staging = (tree as NSString).deletingLastPathComponent + "/.tmp-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: staging) }
        try checkout(commit: commit, into: staging)
        try Self.readOnlyForOthers(staging)
        try finish(staging)
        guard rename(staging, tree) == 0 else {
            throw GobayError.failure("cannot place \(tree): \(String(cString: strerror(errno)))", hint: "check free disk space")
        }
    }

    /// Takes the group and other write bits off every file and directory under `dir`.
    static func readOnlyForOthers(_ dir: String) throws {
        var top = stat()
        guard lstat(dir, &top) == 0, (top.st_mode & S_IFMT) == S_IFDIR else { return }
        _ = chmod(dir, 0o755)
        try DirectoryEntries.walk(dir) { path, _ in
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFLNK else { return }
            if info.st_mode & 0o022 != 0, chmod(path, info.st_mode & 0o7755) != 0 {
                throw GobayError.failure("cannot chmod \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Removes the clean trees (and their locks) of projects not in `projects`, skipping any
    /// whose lock a build holds; returns the projects whose trees went. A work dir made from
    /// one keeps its links. Also removes what a killed gobay left set aside (`Sweeper`) in the
    /// kept projects' trees and in every environment's work dir.
    public static func dropTrees(dataDir: String, keeping projects: Set<String>) -> [String] {
        let data = DataDirectory(dataDir)
        for env in (try? DirectoryEntries.list(data.environments)) ?? [] where env.isDirectory {
            let layout = data.environmentLayout(env.name)
            Sweeper.sweepLeftovers(in: layout.work, anchor: layout.path)
        }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: data.projectTrees) else { return [] }
        var dropped: [String] = []
        for name in names.sorted() where !name.hasSuffix(".lock") {
            guard let lock = try? FileLock(path: data.projectTreesLock(name)), lock.tryLockExclusive() else { continue }
            defer { lock.unlock() }
            if projects.contains(name) {
                Sweeper.sweepLeftovers(in: data.projectTrees(name))
                continue
            }
            if (try? FileManager.default.removeItem(atPath: data.projectTrees(name))) != nil {
                unlink(data.projectTreesLock(name))
                dropped.append(name)
            }
        }
        return dropped
    }

    /// In a clean tree's `.git`: its files are dated before its index.
    static let refreshedMarker = "gobay-refreshed"

    /// Sets the modification time of everything under `dir` but `.git` to `seconds` ago.
    static func backdate(_ dir: String, by seconds: Int) throws {
        guard let walk = FileManager.default.enumerator(atPath: dir) else { return }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var times = [timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2 /* UTIME_OMIT */), timespec(tv_sec: now.tv_sec - seconds, tv_nsec: now.tv_nsec)]
        while let relative = walk.nextObject() as? String {
            if relative == ".git" {
                walk.skipDescendants()
                continue
            }
            guard utimensat(AT_FDCWD, dir + "/" + relative, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw GobayError.failure("cannot set the time of \(dir)/\(relative): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Makes `dir` anew: `make` fills a new directory beside it (its path given), which then
    /// replaces `dir` in one rename, the old `dir` (if any) moved aside first and removed after:
    /// at once, or by the `Sweeper` while the build goes on. `dir`'s parent is often the step
    /// user's (a work dir, a GOPATH): it is reached without following a link, and everything is
    /// done in the directory opened, wherever its path leads by then (`PlacementDirectory`).
    func place(
        _ dir: String, owner: ProcessUser?, removingOldInBackground background: Bool = false, making make: (String) throws -> Void
    ) throws {
        let place = try PlacementDirectory((dir as NSString).deletingLastPathComponent, anchor: dataDir, owner: owner)
        let (fd, name) = (place.descriptor, (dir as NSString).lastPathComponent)
        let tmp = ".tmp-checkout-\(UUID().uuidString)"
        defer { DirectoryEntries.remove(tmp, in: fd, listedAsDirectory: false) }
        try make(place.path + "/" + tmp)
        let old = Sweeper.asidePrefix + UUID().uuidString
        let hadOld = renameat(fd, name, fd, old) == 0
        guard renameat(fd, tmp, fd, name) == 0 else {
            let reason = String(cString: strerror(errno))
            if hadOld { renameat(fd, old, fd, name) }
            throw GobayError.failure("cannot move checkout into \(dir): \(reason)")
        }
        guard hadOld else { return }
        if background {
            Sweeper.remove(old, in: place.duplicate())
        } else {
            DirectoryEntries.remove(old, in: fd, listedAsDirectory: false)
        }
    }
}

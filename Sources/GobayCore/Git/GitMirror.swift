import Foundation

/// A bare mirror of one repository under `<data_dir>/git/`, shared by every build of it.
public struct GitMirror: Sendable {
    /// The repository URL or path.
    public let url: String
    /// The mirror's git dir.
    public let path: String

    /// The mirror of `url` inside `dataDir`; its name is derived from the URL.
    public init(url: String, dataDir: String) {
        self.url = url
        let tail = url.split(whereSeparator: { "/:".contains($0) }).last.map(String.init) ?? "repo"
        let safe = tail.replacingOccurrences(of: ".git", with: "").filter { $0.isLetter || $0.isNumber || "-_".contains($0) }
        let key = FileDigest.sha256(data: Data(url.utf8)).prefix(12)
        self.path = DataDirectory(dataDir).mirror(name: safe.isEmpty ? "repo" : safe, key: String(key))
    }

    /// Creates the mirror if needed and fetches every branch and tag, under the mirror's lock,
    /// which git holds too: a fetch left running by a killed gobay finishes before the next one
    /// starts (two at once would fight over the refs).
    public func update() throws {
        let lock = try FileLock(path: path + ".lock")
        lock.lockExclusive()
        defer { lock.unlock() }
        do {
            if !FileManager.default.fileExists(atPath: path + "/HEAD") {
                let tmp = path + ".tmp-\(UUID().uuidString)"
                defer { try? FileManager.default.removeItem(atPath: tmp) }
                try Git.run(["clone", "--mirror", "--quiet", "--", url, tmp], holding: [lock.descriptor])
                guard rename(tmp, path) == 0 else {
                    throw GobayError.failure("cannot create mirror \(path): \(String(cString: strerror(errno)))")
                }
            } else {
                // No `git maintenance --auto` on a build's path: `maintain` runs it from the
                // server's retention loop and `gobay prune`.
                try Git.run(
                    ["--git-dir", path, "fetch", "--prune", "--quiet", "--force", "--no-auto-maintenance", "--", "origin"],
                    holding: [lock.descriptor])
            }
        } catch let error as GitError {
            throw GobayError(
                "cannot fetch \(url): \(error.stderr.trimmingCharacters(in: .whitespacesAndNewlines))",
                hint: "check that the repo: URL is right and reachable by the gobay user", kind: .upstream)
        }
    }

    /// The commit `ref` names: a branch, a tag, a full ref, or HEAD.
    public func resolve(ref: String) throws -> String {
        try GitRef.validate(ref)
        let candidates = ref.hasPrefix("refs/") || ref == "HEAD" ? [ref] : ["refs/heads/\(ref)", "refs/tags/\(ref)"]
        if candidates[0].hasPrefix("refs/heads/"), let tip = storedID(of: candidates[0]) { return tip }
        for candidate in candidates {
            if let sha = try? Git.run(["--git-dir", path, "rev-parse", "--verify", "--quiet", "--end-of-options", candidate + "^{commit}"]) {
                return sha
            }
        }
        throw GobayError(
            "ref \"\(ref)\" does not exist in \(url)", hint: "check the branch or tag name; `git ls-remote \(url)` lists them",
            kind: .unprocessable)
    }

    /// The object id a branch holds, read from the mirror's ref files with no git process (see
    /// `storedID(of:inGitDir:)`). A fetched branch names a commit; one that did not would fail
    /// the checkout.
    func storedID(of ref: String) -> String? { Self.storedID(of: ref, inGitDir: path) }

    /// The object id `ref` (a full ref name, checked by `GitRef.validate`) holds in the git dir
    /// `dir`, read as git reads it: the loose ref, else its line in packed-refs. Nil when neither
    /// holds a full object id (a symbolic ref, another ref store): git answers then.
    static func storedID(of ref: String, inGitDir dir: String) -> String? {
        func objectID<S: StringProtocol>(_ text: S) -> String? {
            text.count == 40 && GitRef.isCommitID(String(text)) ? String(text) : nil
        }
        if let loose = FileManager.default.contents(atPath: dir + "/" + ref) {
            return objectID(String(decoding: loose, as: UTF8.self).trimmingCharacters(in: .newlines))
        }
        guard let packed = FileManager.default.contents(atPath: dir + "/packed-refs") else { return nil }
        let suffix = " " + ref
        for line in String(decoding: packed, as: UTF8.self).split(separator: "\n") where line.hasSuffix(suffix) {
            let id = line.dropLast(suffix.count)
            if id.count == 40 { return objectID(id) }
        }
        return nil
    }

    /// The commit `branch` points at when a fetch would bring nothing for it: the repository is
    /// on this machine (an absolute path or a file:// URL), and its branch points at the commit
    /// the mirror holds for it, both read from their ref files as git reads them (the ref
    /// advertisement a fetch starts with is made from the same files). Nil whenever that cannot
    /// be told so (a remote URL, a symbolic ref, a linked worktree, another ref store): then
    /// gobay fetches.
    public func unmovedLocalTip(of branch: String) -> String? {
        guard GitRef.problem(branch) == nil, !branch.hasPrefix("refs/") || branch.hasPrefix("refs/heads/"),
            branch != "HEAD", let remote = localGitDir
        else { return nil }
        let ref = branch.hasPrefix("refs/heads/") ? branch : "refs/heads/" + branch
        guard let tip = Self.storedID(of: ref, inGitDir: remote), storedID(of: ref) == tip else { return nil }
        return tip
    }

    /// The git dir of the repository when it is on this machine: a bare repository, or a work
    /// tree's `.git` directory; nil for a URL, a `.git` file (a linked worktree, a submodule) or
    /// a git dir whose refs live elsewhere (`commondir`).
    var localGitDir: String? {
        var dir: String
        if url.hasPrefix("/") {
            dir = url
        } else if url.hasPrefix("file:///"), !url.contains("%") {
            dir = String(url.dropFirst("file://".count))
        } else {
            return nil
        }
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir + "/.git", isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { return nil }
            dir += "/.git"
        }
        guard FileManager.default.fileExists(atPath: dir + "/HEAD"),
            !FileManager.default.fileExists(atPath: dir + "/commondir")
        else { return nil }
        return dir
    }

    /// The full commit id of `sha` (full or abbreviated), which must be in the mirror.
    public func resolve(commit sha: String) throws -> String {
        guard GitRef.isCommitID(sha) else {
            throw GobayError("\"\(sha)\" is not a commit id", hint: "pass a hex commit id (at least 4 characters)")
        }
        guard let full = try? Git.run(["--git-dir", path, "rev-parse", "--verify", "--quiet", "--end-of-options", sha + "^{commit}"]) else {
            throw GobayError("commit \(sha) is not in \(url)", hint: "push it first, or check the id", kind: .unprocessable)
        }
        return full
    }

    /// The repository's default branch (what its HEAD points at).
    public func defaultBranch() throws -> String {
        if let branch = headFileBranch() { return branch }
        let head = try Git.run(["--git-dir", path, "symbolic-ref", "--quiet", "HEAD"])
        return head.hasPrefix("refs/heads/") ? String(head.dropFirst("refs/heads/".count)) : head
    }

    /// The default branch read from the mirror's HEAD file ("ref: refs/heads/main") with no git
    /// process; nil when the mirror does not exist yet.
    public func headFileBranch() -> String? {
        guard let text = try? String(contentsOfFile: path + "/HEAD", encoding: .utf8), text.hasPrefix("ref: refs/heads/")
        else { return nil }
        return String(text.dropFirst("ref: refs/heads/".count)).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Whether the mirror holds the object `sha` (a full 40-digit id), read from its files as git
    /// reads them, with no git process: a loose object, or one listed in the index of a pack that
    /// is there. A commit a build fetched is found so whether that fetch left it loose or in a
    /// pack (more objects than git's unpack limit, or after maintenance), so a retry, a second
    /// build of it, or the later pushes of a burst another build fetched need no fetch. A new
    /// commit is not held, which is every push.
    public func holds(object sha: String) -> Bool {
        guard sha.count == 40, GitRef.isCommitID(sha), let id = PackIndex.bytes(ofHex: sha) else { return false }
        if FileManager.default.fileExists(atPath: path + "/objects/" + sha.prefix(2) + "/" + sha.dropFirst(2)) { return true }
        let packs = path + "/objects/pack"
        for entry in (try? DirectoryEntries.list(packs)) ?? [] where entry.name.hasSuffix(".idx") {
            let pack = packs + "/" + entry.name.dropLast(".idx".count)
            if FileManager.default.fileExists(atPath: pack + ".pack"), PackIndex.contains(id, indexPath: pack + ".idx") {
                return true
            }
        }
        return false
    }

    /// Runs `git maintenance run --auto` in every mirror of `dataDir` nobody is fetching into
    /// (packs loose objects once there are many, as a fetch would have); returns how many it
    /// ran in. Mirrors a fetch holds are left for the next time.
    public static func maintain(dataDir: String) -> Int {
        let root = DataDirectory(dataDir).git
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else { return 0 }
        var count = 0
        for name in names.sorted() where name.hasSuffix(".git") {
            let path = root + "/" + name
            guard FileManager.default.fileExists(atPath: path + "/HEAD"), let lock = try? FileLock(path: path + ".lock"),
                lock.tryLockExclusive()
            else { continue }
            defer { lock.unlock() }
            if (try? Git.run(["--git-dir", path, "maintenance", "run", "--auto", "--quiet"], holding: [lock.descriptor])) != nil {
                count += 1
            }
        }
        return count
    }

    /// The committer date of `commit` (RFC 3339), or nil when the mirror does not have it.
    public func commitDate(_ commit: String) -> String? {
        guard GitRef.isCommitID(commit) else { return nil }
        return try? Git.run(["--git-dir", path, "show", "-s", "--format=%cI", "--end-of-options", commit])
    }

    /// The subject line of `commit`'s message, or nil when the mirror does not have it.
    public func subject(_ commit: String) -> String? {
        guard GitRef.isCommitID(commit) else { return nil }
        return try? Git.run(["--git-dir", path, "show", "-s", "--format=%s", "--end-of-options", commit])
    }

    /// The content of `file` at `commit`, or nil when the commit has no such file.
    public func read(_ file: String, at commit: String) -> String? {
        try? Git.run(["--git-dir", path, "show", "\(commit):\(file)"])
    }

    /// The full id of the commit `sha` names (a tag is peeled, as `resolve(commit:)` does) and
    /// that commit's go.mod, in one git process; nil when `sha` names no commit or the commit
    /// has no go.mod (`resolve(commit:)` then tells which).
    public func commitAndGoMod(_ sha: String) -> (commit: String, goMod: String)? {
        guard GitRef.isCommitID(sha),
            let out = try? Git.run([
                "--git-dir", path, "show", "-s", "--no-textconv", "--format=%H", "--end-of-options", sha + "^{commit}",
                sha + "^{commit}:go.mod",
            ]),
            let newline = out.firstIndex(of: "\n")
        else { return nil }
        let commit = String(out[..<newline])
        guard commit.count == 40, GitRef.isCommitID(commit) else { return nil }
        return (commit, String(out[out.index(after: newline)...]))
    }

    /// Makes `dir` a fresh checkout of `commit`, borrowing the mirror's objects. A build may have
    /// written anything into the old checkout, its `.git` too (hooks, `core.fsmonitor`, filters),
    /// so gobay never runs git there: it clones beside it with a `.git` of its own, checks out,
    /// hands the new tree to `owner` (the step user), and swaps it in.
    public func checkout(commit: String, into dir: String, owner: ProcessUser? = nil) throws {
        try place(dir, owner: owner) { tmp in
            try makeRepository(at: tmp + "/.git", head: commit)
            try Git.run(["-C", tmp, "checkout", "--quiet", "--force", "--detach", commit])
            if let owner { try Ownership.hand([tmp], to: owner) }
        }
    }

    /// The data dir the mirror is in (`<data_dir>/git/<name>.git`).
    var dataDir: String { ((path as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent }

    /// Writes the smallest `.git` that borrows the mirror's objects, with a detached HEAD: what
    /// `git clone --shared --no-checkout` makes, without its templates and ref copies (a clone
    /// costs five times the checkout itself).
    func makeRepository(at gitDir: String, head commit: String) throws {
        // What git needs to see a repository: HEAD, objects/ and refs/. The checkout's own
        // directory is new too (its parent exists): plain mkdir and exclusive creates, no temp
        // names, as nothing else looks into it yet.
        let checkout = (gitDir as NSString).deletingLastPathComponent
        for dir in [checkout, gitDir, gitDir + "/objects", gitDir + "/objects/info", gitDir + "/refs"] {
            guard mkdir(dir, 0o777) == 0 || (errno == EEXIST && dir == checkout) else {
                throw GobayError.failure(
                    "cannot create \(dir): \(String(cString: strerror(errno)))", hint: "check free disk space and permissions")
            }
        }
        try AtomicFile.writeNew(commit + "\n", to: gitDir + "/HEAD")
        // Handing the files to the step user, or linking them, changes their ctime, which must
        // not make git (go build's VCS stamp runs `git status`) read every file again. No
        // reflog: nobody reads it, and it is files to make and link.
        try AtomicFile.writeNew(
            "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\ttrustctime = false\n"
                + "\tlogAllRefUpdates = false\n",
            to: gitDir + "/config")
        try AtomicFile.writeNew(path + "/objects\n", to: gitDir + "/objects/info/alternates")
    }
}

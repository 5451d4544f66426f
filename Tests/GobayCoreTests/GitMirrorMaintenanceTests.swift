import Foundation
import GobayTesting
import Testing

@testable import GobayCore

/// Builds' fetches skip `git maintenance --auto`; `GitMirror.maintain` (the server's retention
/// loop, `gobay prune`) runs it instead, in mirrors no fetch holds. A branch is read from the
/// mirror's ref files as git reads them.
@Suite("git mirrors: maintenance off the build path, branches read from ref files")
struct GitMirrorMaintenanceTests {
    @Test func fetchesLeaveMaintenanceToMaintain() throws {
        let sandbox = try TestSandbox("mirror-maintenance")
        let origin = try GitFixture(path: sandbox.path + "/repos/svc", branch: "main", files: ["a.txt": "a\n"])
        let dataDir = sandbox.path + "/data"
        let mirror = GitMirror(url: origin.path, dataDir: dataDir)
        try mirror.update()
        // Maintenance as eager as it gets, and exact (gc's estimate samples one directory): any
        // loose object is too many for the loose-objects task.
        for (key, value) in [
            ("maintenance.gc.enabled", "false"), ("maintenance.loose-objects.enabled", "true"),
            ("maintenance.loose-objects.auto", "1"),
        ] {
            try Git.run(["--git-dir", mirror.path, "config", key, value])
        }
        func count(_ field: String) throws -> Int {
            let counts = try Git.run(["--git-dir", mirror.path, "count-objects", "-v"])
            let line = counts.split(separator: "\n").first { $0.hasPrefix(field + ": ") } ?? ""
            return Int(line.dropFirst(field.count + 2)) ?? -1
        }
        func loose() throws -> Int { try count("count") }
        let (looseBefore, packsBefore) = (try loose(), try count("packs"))
        for n in 1...3 { try origin.commit(["f\(n).txt": "\(n)\n"], message: "c\(n)") }
        try mirror.update()
        // A fetch this small unpacks into loose objects; maintenance would have packed them.
        #expect(try loose() > looseBefore && count("packs") == packsBefore, "the fetch ran maintenance")
        let commit = try Git.run(["-C", origin.path, "rev-parse", "HEAD"])
        #expect(mirror.holds(object: commit))

        // A fetch in progress holds the mirror's lock: maintenance leaves that mirror alone.
        let lock = try FileLock(path: mirror.path + ".lock")
        lock.lockExclusive()
        #expect(GitMirror.maintain(dataDir: dataDir) == 0)
        lock.unlock()
        // The task packs loose objects, and removes packed ones the next time.
        #expect(GitMirror.maintain(dataDir: dataDir) == 1)
        #expect(GitMirror.maintain(dataDir: dataDir) == 1)
        #expect(try loose() == 0, "maintenance did not pack the loose objects")
        #expect(mirror.holds(object: commit), "a packed commit is held")
    }

    /// `resolve(ref:)` answers what `rev-parse REF^{commit}` answers: a branch from its loose ref
    /// or from packed-refs, a tag (peeled), a branch that is a symbolic ref, and nothing for a
    /// branch that is not there.
    @Test func branchesAreReadAsGitReadsThem() throws {
        let sandbox = try TestSandbox("mirror-refs")
        let origin = try GitFixture(path: sandbox.path + "/repos/svc", branch: "main", files: ["a.txt": "a\n"])
        let first = try Git.run(["-C", origin.path, "rev-parse", "HEAD"])
        try Git.run(["-C", origin.path, "branch", "--", "dev/x"])
        try Git.run(["-C", origin.path, "tag", "-a", "-m", "v1", "--", "v1"])
        let mirror = GitMirror(url: origin.path, dataDir: sandbox.path + "/data")
        try mirror.update()
        func gitSays(_ ref: String) -> String? {
            try? Git.run(["--git-dir", mirror.path, "rev-parse", "--verify", "--quiet", "--end-of-options", ref + "^{commit}"])
        }
        // A fresh mirror holds its refs in packed-refs.
        #expect(mirror.storedID(of: "refs/heads/main") == first)
        #expect(try mirror.resolve(ref: "main") == first && mirror.resolve(ref: "dev/x") == first)
        #expect(try mirror.resolve(ref: "v1") == first && mirror.storedID(of: "refs/heads/v1") == nil)
        // A fetch writes the moved branch as a loose ref, which wins over packed-refs.
        let second = try origin.commit(["b.txt": "b\n"], message: "second")
        try mirror.update()
        #expect(FileManager.default.fileExists(atPath: mirror.path + "/refs/heads/main"))
        #expect(mirror.storedID(of: "refs/heads/main") == second)
        #expect(try mirror.resolve(ref: "main") == second && gitSays("refs/heads/main") == second)
        try Git.run(["--git-dir", mirror.path, "pack-refs", "--all"])
        #expect(!FileManager.default.fileExists(atPath: mirror.path + "/refs/heads/main"))
        #expect(try mirror.resolve(ref: "main") == second)
        // A symbolic ref is left to git.
        try Git.run(["--git-dir", mirror.path, "symbolic-ref", "refs/heads/alias", "refs/heads/dev/x"])
        #expect(mirror.storedID(of: "refs/heads/alias") == nil)
        #expect(try mirror.resolve(ref: "alias") == first)
        #expect(throws: GobayError.self) { try mirror.resolve(ref: "dev") }
        #expect(throws: GobayError.self) { try mirror.resolve(ref: "no-such-branch") }
    }

    /// A repository on this machine whose branch still points where the mirror's does needs no
    /// fetch: told from both repositories' ref files, loose or packed, bare or not; anything
    /// that cannot be told so (no mirror yet, a moved branch, a symbolic ref, a linked worktree,
    /// a URL) is left to a fetch.
    @Test func aLocalRepositoryWhoseBranchHasNotMovedNeedsNoFetch() throws {
        let sandbox = try TestSandbox("mirror-local-tip")
        let origin = try GitFixture(path: sandbox.path + "/repos/svc", branch: "main", files: ["a.txt": "a\n"])
        let dataDir = sandbox.path + "/data"
        let mirror = GitMirror(url: origin.path, dataDir: dataDir)
        #expect(mirror.unmovedLocalTip(of: "main") == nil, "no mirror yet")
        try mirror.update()
        #expect(mirror.unmovedLocalTip(of: "main") != nil && mirror.unmovedLocalTip(of: "refs/heads/main") != nil)
        #expect(mirror.unmovedLocalTip(of: "no-such-branch") == nil && mirror.unmovedLocalTip(of: "HEAD") == nil)
        #expect(mirror.unmovedLocalTip(of: "../main") == nil && mirror.unmovedLocalTip(of: "refs/tags/main") == nil)
        _ = try origin.commit(["b.txt": "b\n"], message: "moved")
        #expect(mirror.unmovedLocalTip(of: "main") == nil, "the branch moved")
        try mirror.update()
        #expect(mirror.unmovedLocalTip(of: "main") != nil)
        try Git.run(["-C", origin.path, "pack-refs", "--all"])
        #expect(mirror.unmovedLocalTip(of: "main") != nil, "packed in the repository")
        try Git.run(["-C", origin.path, "symbolic-ref", "refs/heads/alias", "refs/heads/main"])
        try mirror.update()
        #expect(mirror.unmovedLocalTip(of: "alias") == nil, "a symbolic ref is git's to read")

        // A bare repository, a file:// URL, a linked worktree and a remote URL.
        let bare = sandbox.path + "/repos/bare.git"
        try Git.run(["clone", "--bare", "--quiet", "--", origin.path, bare])
        let bareMirror = GitMirror(url: bare, dataDir: dataDir)
        try bareMirror.update()
        #expect(bareMirror.unmovedLocalTip(of: "main") != nil)
        let fileMirror = GitMirror(url: "file://" + bare + "/", dataDir: dataDir)
        try fileMirror.update()
        #expect(fileMirror.unmovedLocalTip(of: "main") != nil)
        let worktree = sandbox.path + "/repos/wt"
        try Git.run(["-C", origin.path, "worktree", "add", "--quiet", "-b", "wt", "--", worktree])
        let worktreeMirror = GitMirror(url: worktree, dataDir: dataDir)
        try worktreeMirror.update()
        #expect(worktreeMirror.localGitDir == nil && worktreeMirror.unmovedLocalTip(of: "main") == nil)
        #expect(GitMirror(url: "ssh://git@example.com/svc.git", dataDir: dataDir).localGitDir == nil)
    }

    /// A pushed commit is resolved and its go.mod read in one git process: a tag is peeled to
    /// its commit, and anything but a commit with a go.mod is left to `resolve(commit:)`. A
    /// commit the mirror has loose is held without a fetch; a new one is not, with no git.
    @Test func aPushedCommitAndItsGoModInOneProcess() throws {
        let sandbox = try TestSandbox("mirror-commit-gomod")
        let goMod = "module example.com/svc\n\ngo 1.22\n"
        let origin = try GitFixture(path: sandbox.path + "/repos/svc", branch: "main", files: ["go.mod": goMod])
        let withMod = try Git.run(["-C", origin.path, "rev-parse", "HEAD"])
        try Git.run(["-C", origin.path, "tag", "-a", "-m", "release", "--", "v1"])
        let tag = try Git.run(["-C", origin.path, "rev-parse", "refs/tags/v1"])
        try Git.run(["-C", origin.path, "rm", "--quiet", "go.mod"])
        let withoutMod = try origin.commit(["main.go": "package main\n"], message: "gopath")
        let mirror = GitMirror(url: origin.path, dataDir: sandbox.path + "/data")
        #expect(!mirror.holds(object: withoutMod), "no mirror yet")
        try mirror.update()
        #expect(mirror.holds(object: withoutMod), "a fetched commit is loose")
        #expect(!mirror.holds(object: String(repeating: "a", count: 40)) && !mirror.holds(object: withoutMod.uppercased()))
        #expect(!mirror.holds(object: String(withoutMod.prefix(12))), "only a full id")

        let found = try #require(mirror.commitAndGoMod(withMod))
        #expect(found.commit == withMod && found.goMod == goMod.trimmingCharacters(in: .newlines))
        #expect(mirror.commitAndGoMod(String(withMod.prefix(12)))?.commit == withMod)
        #expect(tag != withMod && mirror.commitAndGoMod(tag)?.commit == withMod, "a tag is peeled")
        #expect(mirror.commitAndGoMod(withoutMod) == nil)
        #expect(try mirror.resolve(commit: withoutMod) == withoutMod)
        let tree = try Git.run(["-C", origin.path, "rev-parse", withMod + "^{tree}"])
        #expect(mirror.commitAndGoMod(tree) == nil && mirror.commitAndGoMod("not-hex") == nil)
        #expect(throws: GobayError.self) { try mirror.resolve(commit: tree) }
    }

    /// A fetch of more objects than git's unpack limit keeps them in a pack (the clone before it
    /// left its objects loose): every object git lists is found, loose or in the pack's index,
    /// and nothing else is (ids next to real ones, the
    /// first and last of the id space), with no git process; a pack whose data file is gone
    /// holds nothing.
    @Test func objectsInAPackAreFoundInItsIndex() throws {
        let sandbox = try TestSandbox("mirror-pack-index")
        var files: [String: String] = [:]
        for n in 0..<300 { files["f\(n).txt"] = "file \(n)\n" }
        let origin = try GitFixture(path: sandbox.path + "/repos/svc", branch: "main", files: files)
        let mirror = GitMirror(url: origin.path, dataDir: sandbox.path + "/data")
        try mirror.update()
        _ = try origin.commit(Dictionary(uniqueKeysWithValues: (0..<150).map { ("g\($0).txt", "more \($0)\n") }), message: "more")
        try mirror.update()
        let packs = try FileManager.default.contentsOfDirectory(atPath: mirror.path + "/objects/pack").filter { $0.hasSuffix(".idx") }
        #expect(packs.count == 1, "the fetch kept a pack: \(packs)")
        let listed = try Git.run([
            "--git-dir", mirror.path, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)",
        ]).split(separator: "\n").map(String.init)
        #expect(listed.count > 450)
        let loose = try Git.run(["--git-dir", mirror.path, "count-objects"])
        #expect(!loose.hasPrefix("0 objects"), "the clone's objects are loose: \(loose)")
        let known = Set(listed)
        #expect(listed.allSatisfy(mirror.holds(object:)), "an object git lists was not found")
        let hex = Array("0123456789abcdef")
        let neighbours = listed.flatMap { id -> [String] in
            let last = hex.firstIndex(of: id.last!)!
            return [String(id.dropLast()) + String(hex[(last + 1) % 16]), String(id.dropLast()) + String(hex[(last + 15) % 16])]
        }
        let absent = (neighbours + [String(repeating: "0", count: 40), String(repeating: "f", count: 40)]).filter { !known.contains($0) }
        #expect(absent.count > 800)
        #expect(!absent.contains(where: mirror.holds(object:)), "an object git does not hold was found")
        // The index alone is not the object.
        let head = try Git.run(["-C", origin.path, "rev-parse", "HEAD"])
        let pack = try #require(packs.first { PackIndex.contains(PackIndex.bytes(ofHex: head)!, indexPath: mirror.path + "/objects/pack/" + $0) })
        try FileManager.default.removeItem(atPath: mirror.path + "/objects/pack/" + pack.dropLast(4) + ".pack")
        #expect(!mirror.holds(object: head))
    }

    /// A build of a pushed commit fetches only when the mirror does not hold it: the first push
    /// (no mirror), a new commit; not a commit an earlier fetch brought, loose or packed.
    @Test func aPlanFetchesOnlyACommitTheMirrorDoesNotHold() throws {
        let world = try BuildWorld(label: "plan-held")
        let config = try ConfigLoader.load(path: world.configPath)
        var fetches = 0
        func plan(_ commit: String) throws -> BuildPlan {
            try BuildPlan.make(
                BuildRequest(project: "modern-svc", commit: commit), config: config,
                store: ToolchainStore(dataDir: config.dataDir), fetching: { _ in fetches += 1 })
        }
        let first = try Git.run(["-C", world.modern.path, "rev-parse", "HEAD"])
        #expect(try plan(first).commit == first && fetches == 1, "no mirror yet")
        let second = try world.modern.commit(["two.txt": "2\n"], message: "two")
        let third = try world.modern.commit(["three.txt": "3\n"], message: "three")
        #expect(try plan(third).commit == third && fetches == 2, "a new commit")
        let burst = try plan(second)
        #expect(burst.commit == second && burst.mode == .module && fetches == 2, "the last push's fetch brought it")
        let mirror = GitMirror(url: world.modern.path, dataDir: config.dataDir)
        try Git.run(["--git-dir", mirror.path, "repack", "-a", "-d", "-q"])
        #expect(!FileManager.default.fileExists(atPath: mirror.path + "/objects/" + second.prefix(2) + "/" + second.dropFirst(2)))
        #expect(try plan(second).commit == second && fetches == 2, "a packed commit was fetched again")
        let fourth = try world.modern.commit(["four.txt": "4\n"], message: "four")
        #expect(try plan(fourth).commit == fourth && fetches == 3)
    }

    /// A new commit of a project whose work dirs link clean trees: the plan makes its clean tree
    /// from the older one (the checkout the build needs anyway) and reads go.mod from it. A held
    /// object that is no commit leaves the older tree as it was.
    @Test func aPlanMakesANewCommitsCleanTreeFromTheOlderOne() throws {
        let world = try BuildWorld(label: "plan-tree")
        let config = try ConfigLoader.load(path: world.configPath)
        func plan(_ commit: String) throws -> BuildPlan {
            try BuildPlan.make(
                BuildRequest(project: "modern-svc", commit: commit), config: config, store: ToolchainStore(dataDir: config.dataDir))
        }
        let first = try Git.run(["-C", world.modern.path, "rev-parse", "HEAD"])
        #expect(try !plan(first).madeCleanTree, "no older tree to make it from")
        let mirror = GitMirror(url: world.modern.path, dataDir: config.dataDir)
        let trees = config.data.projectTrees("modern-svc")
        try FileManager.default.createDirectory(atPath: trees, withIntermediateDirectories: true)
        try mirror.cleanTree(commit: first, at: trees + "/" + first)
        let second = try world.modern.commit(["two.txt": "2\n"], message: "two")
        let third = try world.modern.commit(["three.txt": "3\n"], message: "three")
        #expect(try !plan(third).madeCleanTree, "a commit the mirror lacked: fetched, not made")

        let made = try plan(second)
        #expect(made.madeCleanTree && made.mode == .module && made.commit == second)
        #expect(try FileManager.default.contentsOfDirectory(atPath: trees) == [second], "not advanced in place")
        #expect(try String(contentsOfFile: trees + "/" + second + "/two.txt", encoding: .utf8) == "2\n")
        #expect(try Git.run(["-C", trees + "/" + second, "status", "--porcelain"]) == "")
        #expect(try !plan(second).madeCleanTree, "made once")

        // A blob the mirror holds, named as the commit: refused, the older tree kept as it was.
        let blob = try Git.run(["-C", world.modern.path, "rev-parse", "\(second):two.txt"])
        #expect(mirror.holds(object: blob))
        #expect(throws: GobayError.self) { try plan(blob) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: trees) == [second])
        #expect(try Git.run(["-C", trees + "/" + second, "rev-parse", "HEAD"]) == second)
        #expect(try Git.run(["-C", trees + "/" + second, "status", "--porcelain"]) == "")
    }
}

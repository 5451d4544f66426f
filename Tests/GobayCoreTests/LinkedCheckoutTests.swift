import Foundation
import GobayCore
import GobayTesting
import Testing

/// A module build's work dir, when its steps run as the environment's own unprivileged user: a
/// tree of hard links to gobay's clean tree of the commit, which no step can change. A test
/// that rewrites a tracked file is refused, one that replaces or adds a file changes its own
/// work dir only, and the next build links the clean files again.
@Suite("checkout: module work dirs link a clean tree that no step can change")
struct LinkedCheckoutTests {
    static let mainGo = "package main\n\nimport \"fmt\"\n\nvar version = \"dev\"\n\nfunc main() { fmt.Println(\"linked\", version) }\n"
    static let goMod = "module ex.com/team/linked-svc\n\ngo 1.22\n"
    /// Fails unless the work dir is fresh, its tracked files cannot be written, and replacing
    /// one (a new file under the same name) and adding one work.
    static let hostileTest = """
        package main

        import (
        \t"os"
        \t"testing"
        )

        func TestWorkDir(t *testing.T) {
        \tif _, err := os.Stat("made-by-test.txt"); err == nil {
        \t\tt.Fatal("a file an earlier build's test made is still here")
        \t}
        \tif err := os.WriteFile("main.go", []byte("package main\\n\\nfunc main() {}\\n"), 0o644); err == nil {
        \t\tt.Fatal("wrote into tracked main.go")
        \t}
        \tif f, err := os.OpenFile("go.mod", os.O_WRONLY|os.O_APPEND, 0); err == nil {
        \t\tf.Close()
        \t\tt.Fatal("opened tracked go.mod for writing")
        \t}
        \tif err := os.Remove("main_test.go"); err != nil {
        \t\tt.Fatalf("cannot replace a file of its own work dir: %v", err)
        \t}
        \tif err := os.WriteFile("main_test.go", []byte("package main\\n"), 0o644); err != nil {
        \t\tt.Fatalf("cannot write a new file: %v", err)
        \t}
        \tif err := os.WriteFile("made-by-test.txt", []byte("x"), 0o644); err != nil {
        \t\tt.Fatalf("cannot add a file: %v", err)
        \t}
        }

        """

    @Test(.enabled(if: getuid() == 0, "steps run as a user of their own only when gobay runs as root"))
    func stepsCannotChangeTheCleanTreeAndEveryBuildLinksItAgain() throws {
        let world = try BuildWorld(
            label: "linked-checkout",
            extraProjects: """
                  linked-svc:
                    repo: repos/linked-svc
                    branch: main
                    test: true
                    test_flags: [-count=1]
                """)
        let repo = try GitFixture(
            path: world.sandbox.path + "/repos/linked-svc", branch: "main",
            files: ["go.mod": Self.goMod, "main.go": Self.mainGo, "main_test.go": Self.hostileTest])
        func build() throws -> BuildRecord {
            let run = try world.gobay.run(["build", "linked-svc", "--json"])
            let record = try world.decodeBuild(run.stdout)
            #expect(record.status == .succeeded, "\(run.stderr)")
            // -count=1: the hostile test ran, every time (a cached pass would prove nothing).
            #expect(record.tests?.passed == 1, "\(String(describing: record.tests))")
            return record
        }
        func inode(_ path: String) -> (ino: UInt, links: UInt, uid: UInt32) {
            var info = stat()
            guard lstat(path, &info) == 0 else { return (0, 0, 0) }
            return (UInt(info.st_ino), UInt(info.st_nlink), info.st_uid)
        }
        let first = try build()
        let trees = world.dataDir + "/trees/linked-svc"
        let tree = trees + "/" + first.commit
        let work = world.dataDir + "/envs/modern/work/linked-svc"
        // The test ran (and passed: no tracked file could be written), and the clean tree is
        // the commit's, byte for byte.
        #expect(try String(contentsOfFile: tree + "/main.go", encoding: .utf8) == Self.mainGo)
        #expect(try String(contentsOfFile: tree + "/go.mod", encoding: .utf8) == Self.goMod)
        #expect(try String(contentsOfFile: tree + "/main_test.go", encoding: .utf8) == Self.hostileTest)
        #expect(inode(tree + "/main.go").uid == 0, "the clean tree is gobay's")
        #expect(inode(work + "/main.go").ino == inode(tree + "/main.go").ino, "tracked files are links")
        #expect(inode(work + "/made-by-test.txt").ino != 0, "the test's own file is in its work dir")

        // The same commit again: a fresh work dir of links (the test fails on a leftover). The
        // repository is on this machine and its branch has not moved: no fetch.
        let fetchHead = try #require(
            try FileManager.default.contentsOfDirectory(atPath: world.dataDir + "/git")
                .first { $0.hasPrefix("linked-svc-") && $0.hasSuffix(".git") }
                .map { world.dataDir + "/git/" + $0 + "/FETCH_HEAD" })
        func fetched() -> Date? { (try? FileManager.default.attributesOfItem(atPath: fetchHead))?[.modificationDate] as? Date }
        // A fetch (re)writes FETCH_HEAD: one dated long ago tells whether another came.
        _ = FileManager.default.createFile(atPath: fetchHead, contents: Data())
        let longAgo = Date(timeIntervalSince1970: 946_684_800)
        try FileManager.default.setAttributes([.modificationDate: longAgo], ofItemAtPath: fetchHead)
        let firstFetch = fetched()
        #expect(firstFetch == longAgo)
        let second = try build()
        #expect(fetched() == firstFetch, "a build of an unmoved local branch fetched")
        #expect(second.commit == first.commit)
        #expect(inode(work + "/main.go").ino == inode(tree + "/main.go").ino)
        #expect(try String(contentsOfFile: work + "/main_test.go", encoding: .utf8) == "package main\n")

        // A new commit: the older clean tree is checked out at it in place, renamed to it. git
        // writes only what changed, and as new files: a link to the older main.go (as a work dir
        // holds) keeps the older content; go.mod, unchanged, keeps its inode.
        let keptLink = world.sandbox.path + "/older-main.go"
        #expect(link(tree + "/main.go", keptLink) == 0)
        let goModInode = inode(tree + "/go.mod").ino
        try Git.run(["-C", repo.path, "rm", "--quiet", "main_test.go"])
        let next = try repo.commit(
            ["main.go": Self.mainGo.replacingOccurrences(of: "linked", with: "linked v2"), "added.txt": "new\n"], message: "v2")
        let third = try world.gobay.run(["build", "linked-svc", "--json"])
        #expect(try world.decodeBuild(third.stdout).status == .succeeded, "\(third.stderr)")
        #expect(try world.decodeBuild(third.stdout).commit == next)
        #expect(fetched() != firstFetch, "a moved branch is fetched")
        let nextTree = trees + "/" + next
        #expect(try String(contentsOfFile: keptLink, encoding: .utf8) == Self.mainGo, "git wrote into a linked file")
        #expect(try String(contentsOfFile: nextTree + "/main.go", encoding: .utf8).contains("linked v2"))
        #expect(inode(nextTree + "/go.mod").ino == goModInode, "the older tree was not advanced in place")
        #expect(!FileManager.default.fileExists(atPath: nextTree + "/main_test.go"))
        #expect(try String(contentsOfFile: nextTree + "/added.txt", encoding: .utf8) == "new\n")
        #expect(try Git.run(["-C", nextTree, "status", "--porcelain"]) == "")
        #expect(try Git.run(["-C", nextTree, "rev-parse", "HEAD"]) == next)
        #expect(inode(nextTree + "/added.txt").uid == 0 && inode(work + "/added.txt").ino == inode(nextTree + "/added.txt").ino)
        // The older tree and the replaced work dir were removed while the build went on, and
        // were gone before gobay exited.
        #expect(try FileManager.default.contentsOfDirectory(atPath: trees) == [next])
        let workDirs = world.dataDir + "/envs/modern/work"
        #expect(try FileManager.default.contentsOfDirectory(atPath: workDirs).filter { $0.hasPrefix(".") } == [])
        #expect(try String(contentsOfFile: work + "/main.go", encoding: .utf8).contains("linked v2"))

        // A project gone from the config: `gobay prune` drops its clean tree, and no other.
        #expect(try world.gobay.run(["build", "modern-svc"]).status == 0)
        try world.editConfig("  linked-svc:\n", "  renamed-svc:\n")
        // What a gobay killed mid-removal left set aside goes too.
        let leftovers = [workDirs + "/.old-checkout-killed", world.dataDir + "/trees/modern-svc/.old-checkout-killed"]
        for leftover in leftovers {
            try FileManager.default.createDirectory(atPath: leftover + "/.git/objects", withIntermediateDirectories: true)
            try Data("x".utf8).write(to: URL(fileURLWithPath: leftover + "/.git/objects/file"))
        }
        let prune = try world.gobay.run(["prune"])
        #expect(leftovers.allSatisfy { !FileManager.default.fileExists(atPath: $0) }, "\(prune.stdout)")
        #expect(prune.stdout.contains("removed the clean trees of linked-svc"), "\(prune.stdout)\(prune.stderr)")
        #expect(!FileManager.default.fileExists(atPath: trees))
        #expect(FileManager.default.fileExists(atPath: world.dataDir + "/trees/modern-svc"))
        #expect(try String(contentsOfFile: work + "/main.go", encoding: .utf8).contains("linked v2"), "a work dir keeps its links")
    }
}

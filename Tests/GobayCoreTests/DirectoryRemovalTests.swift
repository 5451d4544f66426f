import Foundation
import GobayTesting
import Testing

@testable import GobayCore

#if canImport(Glibc)
    import Glibc
#endif

/// gobay, root, removes trees steps wrote (a replaced work dir, an old GOPATH checkout) while
/// steps may still change them: the removal never follows a symbolic link, wherever one is met,
/// and a directory swapped for a link after it was listed is not entered.
@Suite("removing a tree a step wrote never follows a link")
struct DirectoryRemovalTests {
    /// `outside` with a file and a subdirectory with a file: what a link must not lead to.
    func outside(_ sandbox: TestSandbox) throws -> (dir: String, files: [String]) {
        let dir = sandbox.path + "/outside"
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        let files = [dir + "/keep.txt", dir + "/sub/keep.txt"]
        for file in files { try Data("keep\n".utf8).write(to: URL(fileURLWithPath: file)) }
        return (dir, files)
    }

    @Test func aTreeGoesAndTheLinksInItGoAsLinks() throws {
        let sandbox = try TestSandbox("remove-tree")
        let (target, kept) = try outside(sandbox)
        let tree = sandbox.path + "/tree"
        var deep = tree
        for level in 0..<40 { deep += "/d\(level)" }
        try FileManager.default.createDirectory(atPath: deep, withIntermediateDirectories: true)
        for dir in [tree, tree + "/d0", deep] {
            try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/file.txt"))
            #expect(symlink(target, dir + "/to-outside") == 0)
            #expect(symlink(target + "/keep.txt", dir + "/to-file") == 0)
        }
        #expect(mkfifo(tree + "/d0/fifo", 0o600) == 0)
        // A directory nobody may enter, as a step can leave one: root removes it all the same.
        try FileManager.default.createDirectory(atPath: tree + "/d0/closed/inner", withIntermediateDirectories: true)
        #expect(chmod(tree + "/d0/closed", 0) == 0)
        DirectoryEntries.remove(tree)
        #expect(!FileManager.default.fileExists(atPath: tree))
        #expect(kept.allSatisfy { FileManager.default.fileExists(atPath: $0) }, "a file a link led to was removed")
    }

    @Test func aPathThatIsALinkGoesAsALink() throws {
        let sandbox = try TestSandbox("remove-link")
        let (target, kept) = try outside(sandbox)
        let link = sandbox.path + "/old-checkout"
        #expect(symlink(target, link) == 0)
        DirectoryEntries.remove(link)
        var info = stat()
        #expect(lstat(link, &info) != 0, "the link is still there")
        #expect(kept.allSatisfy { FileManager.default.fileExists(atPath: $0) }, "the removal followed the link")
    }

    /// The race, made deterministic: an entry listed as a directory that is a link to a
    /// directory by the time the removal descends into it.
    @Test func aDirectorySwappedForALinkIsNotEntered() throws {
        let sandbox = try TestSandbox("remove-swap")
        let (target, kept) = try outside(sandbox)
        let tree = sandbox.path + "/tree"
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        #expect(symlink(target, tree + "/was-a-directory") == 0)
        let fd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        DirectoryEntries.remove("was-a-directory", in: fd, listedAsDirectory: true)
        var info = stat()
        #expect(lstat(tree + "/was-a-directory", &info) != 0, "the link is still there")
        #expect(kept.allSatisfy { FileManager.default.fileExists(atPath: $0) }, "the removal entered the link")
        // And the other way round: listed as a file, a directory by now, removed whole.
        try FileManager.default.createDirectory(atPath: tree + "/was-a-file/inner", withIntermediateDirectories: true)
        DirectoryEntries.remove("was-a-file", in: fd, listedAsDirectory: false)
        #expect(!FileManager.default.fileExists(atPath: tree + "/was-a-file"))
    }
}

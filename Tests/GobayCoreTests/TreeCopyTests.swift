import Foundation
import GobayTesting
import Synchronization
import Testing

@testable import GobayCore

#if canImport(Glibc)
    import Glibc
#endif

/// A work dir (or a library's GOPATH copy) is made where the step user can write, while another
/// step of that user may run: the copy is made through descriptors, so a directory swapped for a
/// link on the way never leads gobay (root) elsewhere, and each directory is handed over only
/// once everything below it is in place.
@Suite("tree copies: made through descriptors, handed over when complete")
struct TreeCopyTests {
    static let nobody = ProcessUser(uid: 65534, gid: 65534)

    func source(_ sandbox: TestSandbox) throws -> String {
        let source = sandbox.path + "/source"
        try FileManager.default.createDirectory(atPath: source + "/sub/deeper", withIntermediateDirectories: true)
        for (path, text) in [("a.txt", "a\n"), ("sub/b.txt", "b\n"), ("sub/deeper/c.txt", "c\n")] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: source + "/" + path))
        }
        #expect(symlink("a.txt", source + "/link") == 0)
        #expect(symlink(sandbox.path, source + "/sub/dirlink") == 0)
        return source
    }

    /// For the races: a source of 30 directories of 5 files each, and a directory outside it.
    func raceSource(_ sandbox: TestSandbox) throws -> (source: String, outside: String) {
        let source = sandbox.path + "/source"
        for n in 0..<30 {
            try FileManager.default.createDirectory(atPath: source + "/d\(n)", withIntermediateDirectories: true)
            for m in 0..<5 { try Data("x".utf8).write(to: URL(fileURLWithPath: source + "/d\(n)/f\(m)")) }
        }
        let outside = sandbox.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        return (source, outside)
    }

    func info(_ path: String) -> stat {
        var info = stat()
        _ = lstat(path, &info)
        return info
    }

    @Test(.enabled(if: getuid() == 0, "handing over needs root"))
    func filesAreLinkedOrCopiedLinksStayLinksAndTheOwnerGetsWhatIsMade() throws {
        let sandbox = try TestSandbox("tree-copy")
        let source = try source(sandbox)
        for link in [true, false] {
            let target = sandbox.path + "/target-\(link)"
            #expect(try TreeCopy.copy(source, to: target, link: link, owner: Self.nobody) == 3)
            for file in ["a.txt", "sub/b.txt", "sub/deeper/c.txt"] {
                let (copied, original) = (info(target + "/" + file), info(source + "/" + file))
                #expect((copied.st_ino == original.st_ino) == link, "\(file)")
                #expect(copied.st_uid == (link ? 0 : Self.nobody.uid), "\(file): a link stays gobay's, a copy is the owner's")
                #expect(try String(contentsOfFile: target + "/" + file, encoding: .utf8) == String(contentsOfFile: source + "/" + file, encoding: .utf8))
            }
            for dir in ["", "/sub", "/sub/deeper"] {
                #expect(info(target + dir).st_uid == Self.nobody.uid && info(target + dir).st_mode & S_IFMT == S_IFDIR)
            }
            for link in ["link", "sub/dirlink"] {
                #expect(info(target + "/" + link).st_mode & S_IFMT == S_IFLNK, "\(link) was followed")
                #expect(info(target + "/" + link).st_uid == Self.nobody.uid)
            }
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: target + "/link") == "a.txt")
        }
        // A target that exists (a link an attacker put there included) is refused, nothing made through it.
        let outside = sandbox.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        #expect(symlink(outside, sandbox.path + "/taken") == 0)
        #expect(throws: GobayError.self) { try TreeCopy.copy(source, to: sandbox.path + "/taken", link: true) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == [])
    }

    /// Another process swaps the copy's directories for links to a directory elsewhere as fast
    /// as it can while copies run: nothing is ever made there. (A copy may fail; it must not
    /// write through a link.) Made by path, the copy wrote there within a few rounds.
    @Test func aDirectorySwappedForALinkDuringTheCopyLeadsNowhere() throws {
        let sandbox = try TestSandbox("tree-copy-race")
        let (source, outside) = try raceSource(sandbox)
        let swapper = LinkSwapper(outside: outside)
        defer { swapper.stop() }
        for round in 0..<60 {
            let dir = sandbox.path + "/target-\(round)"
            swapper.point(at: dir)
            _ = try? TreeCopy.copy(source, to: dir, link: round % 2 == 0)
        }
        swapper.point(at: nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == [], "the copy wrote through a link")
    }

    /// The work dir an earlier build left, changed by its steps as a step may, is brought in line
    /// with the next commit's clean tree in place: what the step added goes, what it replaced is
    /// linked again, a directory it swapped for a link to elsewhere is made again without
    /// anything done there, modes come back, and what was right stays (the same directory, the
    /// same links). A work dir that is not the step user's is left for a fresh copy.
    @Test(.enabled(if: getuid() == 0, "handing over needs root"))
    func anEarlierLinkedCopyIsBroughtInLineInPlace() throws {
        let sandbox = try TestSandbox("tree-sync")
        let source = try source(sandbox)
        let target = sandbox.path + "/target"
        try TreeCopy.copy(source, to: target, link: true, owner: Self.nobody)
        let outside = sandbox.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data("keep\n".utf8).write(to: URL(fileURLWithPath: outside + "/c.txt"))
        // What a step might do to its work dir.
        try Data("mine".utf8).write(to: URL(fileURLWithPath: target + "/added.txt"))
        try FileManager.default.createDirectory(atPath: target + "/added-dir/inner", withIntermediateDirectories: true)
        #expect(unlink(target + "/a.txt") == 0)
        try Data("replaced".utf8).write(to: URL(fileURLWithPath: target + "/a.txt"))
        #expect(rename(target + "/sub/deeper", target + "/moved-away") == 0)
        #expect(symlink(outside, target + "/sub/deeper") == 0)
        #expect(chmod(target + "/sub", 0o777) == 0)
        #expect(unlink(target + "/link") == 0 && symlink("/etc/passwd", target + "/link") == 0)
        // The next commit: one file changed (a new inode, as git writes), one added, one gone.
        #expect(unlink(source + "/sub/b.txt") == 0)
        try Data("b2\n".utf8).write(to: URL(fileURLWithPath: source + "/sub/b.txt"))
        try Data("new\n".utf8).write(to: URL(fileURLWithPath: source + "/sub/new.txt"))
        #expect(unlink(source + "/sub/deeper/c.txt") == 0)
        let (topBefore, subBefore) = (info(target).st_ino, info(target + "/sub").st_ino)

        let parent = open(sandbox.path, O_RDONLY | O_DIRECTORY)
        defer { close(parent) }
        #expect(try TreeCopy.syncLinked(source, into: parent, name: "target", target: target, owner: Self.nobody))

        #expect(info(target).st_ino == topBefore && info(target + "/sub").st_ino == subBefore, "not in place")
        func listing(_ root: String) throws -> [String] {
            try FileManager.default.subpathsOfDirectory(atPath: root).sorted()
        }
        #expect(try listing(target) == listing(source))
        for file in try listing(source) where info(source + "/" + file).st_mode & S_IFMT == S_IFREG {
            #expect(info(target + "/" + file).st_ino == info(source + "/" + file).st_ino, "\(file) is not a link to the clean file")
        }
        for dir in ["", "/sub", "/sub/deeper"] {
            let made = info(target + dir)
            #expect(made.st_mode & S_IFMT == S_IFDIR && made.st_uid == Self.nobody.uid, "\(dir)")
            #expect(made.st_mode & 0o7777 == info(source + dir).st_mode & 0o7777, "\(dir): mode")
        }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: target + "/link") == "a.txt")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == ["c.txt"], "changed through a link")
        #expect(try String(contentsOfFile: outside + "/c.txt", encoding: .utf8) == "keep\n")

        // Not the step user's (a work dir of an older gobay, or one a step cannot have made):
        // left alone for a copy of its own.
        #expect(chown(target, 0, 0) == 0)
        try Data("x".utf8).write(to: URL(fileURLWithPath: target + "/stray"))
        #expect(try !TreeCopy.syncLinked(source, into: parent, name: "target", target: target, owner: Self.nobody))
        #expect(FileManager.default.fileExists(atPath: target + "/stray"))
        #expect(try !TreeCopy.syncLinked(source, into: parent, name: "missing", target: sandbox.path + "/missing", owner: Self.nobody))
    }

    /// While a sync runs, another process swaps the work dir's directories for links to a
    /// directory elsewhere as fast as it can: nothing there is removed, and nothing is made there.
    @Test(.enabled(if: getuid() == 0, "handing over needs root"))
    func aDirectorySwappedForALinkDuringASyncLeadsNowhere() throws {
        let sandbox = try TestSandbox("tree-sync-race")
        let (source, outside) = try raceSource(sandbox)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: outside + "/f0"))
        let parent = open(sandbox.path, O_RDONLY | O_DIRECTORY)
        defer { close(parent) }
        let swapper = LinkSwapper(outside: outside)
        defer { swapper.stop() }
        for round in 0..<60 {
            // A fresh copy for every other sync, with a stray file in every directory for the
            // sync to remove.
            let name = "target-\(round / 2)"
            let dir = sandbox.path + "/" + name
            if round % 2 == 0 {
                try TreeCopy.copy(source, to: dir, link: true, owner: Self.nobody)
                for n in 0..<30 {
                    unlink(dir + "/d\(n)/f0")  // a link to the source's: a new file in its place
                    try Data("stray".utf8).write(to: URL(fileURLWithPath: dir + "/d\(n)/f0"))
                }
            }
            swapper.point(at: dir)
            _ = try? TreeCopy.syncLinked(source, into: parent, name: name, target: dir, owner: Self.nobody)
        }
        swapper.point(at: nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == ["f0"], "the sync made something through a link")
        #expect(try String(contentsOfFile: outside + "/f0", encoding: .utf8) == "keep", "the sync removed something through a link")
    }
}

/// Another process of the step's user, as fast as it can: swaps the directories `d0`…`d29` of
/// the directory it is pointed at for links to `outside`, until stopped.
final class LinkSwapper: Sendable {
    private let target = Mutex<String?>(nil)
    private let stopped = Atomic<Bool>(false)

    init(outside: String) {
        let thread = Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                guard let dir = target.withLock({ $0 }) else { continue }
                for n in 0..<30 {
                    let path = dir + "/d\(n)"
                    if rename(path, path + "-moved") == 0 { _ = symlink(outside, path) }
                }
            }
        }
        thread.start()
    }

    /// Swaps in `dir` from now on (nil: nowhere).
    func point(at dir: String?) { target.withLock { $0 = dir } }

    func stop() { stopped.store(true, ordering: .relaxed) }
}

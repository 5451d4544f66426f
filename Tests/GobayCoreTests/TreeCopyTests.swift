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
        let source = sandbox.path + "/source"
        for n in 0..<30 {
            try FileManager.default.createDirectory(atPath: source + "/d\(n)", withIntermediateDirectories: true)
            for m in 0..<5 { try Data("x".utf8).write(to: URL(fileURLWithPath: source + "/d\(n)/f\(m)")) }
        }
        let outside = sandbox.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let stop = Atomic<Bool>(false)
        let target = Mutex<String?>(nil)
        let swapper = Thread {
            while !stop.load(ordering: .relaxed) {
                guard let dir = target.withLock({ $0 }) else { continue }
                for n in 0..<30 {
                    let path = dir + "/d\(n)"
                    if rename(path, path + "-moved") == 0 { _ = symlink(outside, path) }
                }
            }
        }
        swapper.start()
        defer { stop.store(true, ordering: .relaxed) }
        for round in 0..<60 {
            let dir = sandbox.path + "/target-\(round)"
            target.withLock { $0 = dir }
            _ = try? TreeCopy.copy(source, to: dir, link: round % 2 == 0)
        }
        target.withLock { $0 = nil }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == [], "the copy wrote through a link")
    }
}

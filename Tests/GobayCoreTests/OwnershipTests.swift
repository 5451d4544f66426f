import Foundation
import GobayTesting
import Synchronization
import Testing

@testable import GobayCore

#if canImport(Glibc)
    import Glibc
#endif

/// gobay (root) hands trees to the step user that the step user may be changing at that very
/// moment (an out dir, a checkout in a shared GOPATH): the walk never follows a link, not even
/// one that replaced a directory while it ran, and files shared with another tree keep their owner.
@Suite("handing trees to the step user never follows a link", .enabled(if: getuid() == 0, "chown needs root"))
struct OwnershipTests {
    static let nobody = ProcessUser(uid: 65534, gid: 65534)

    func owner(_ path: String) -> uid_t {
        var info = stat()
        _ = lstat(path, &info)
        return info.st_uid
    }

    @Test func directoriesFilesAndLinksAreHandedOverButNotSharedFilesNorWhatLinksLeadTo() throws {
        let sandbox = try TestSandbox("hand-over")
        let outside = sandbox.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: outside + "/secret"))
        let tree = sandbox.path + "/tree"
        try FileManager.default.createDirectory(atPath: tree + "/sub/deeper", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: tree + "/sub/own.txt"))
        #expect(link(outside + "/secret", tree + "/sub/shared") == 0)
        #expect(symlink(outside, tree + "/sub/deeper/to-outside") == 0)
        #expect(symlink(outside + "/secret", tree + "/to-secret") == 0)
        try Ownership.hand([tree], to: Self.nobody)
        for path in ["", "/sub", "/sub/deeper", "/sub/own.txt", "/sub/deeper/to-outside", "/to-secret"] {
            #expect(owner(tree + path) == Self.nobody.uid, "\(path) was not handed over")
        }
        #expect(owner(tree + "/sub/shared") == 0, "a file with two names was handed over")
        #expect(owner(outside) == 0 && owner(outside + "/secret") == 0, "a link was followed")
    }

    /// Another process swaps the tree's directories for links to a directory of root's files as
    /// fast as it can while the tree is handed over again and again: nothing there changes
    /// owner. (Walked by path, the hand-over chowned root's files within a few rounds.)
    @Test func aDirectorySwappedForALinkDuringTheWalkLeadsNowhere() throws {
        let sandbox = try TestSandbox("hand-over-race")
        let outside = sandbox.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        for n in 0..<5 { try Data("x".utf8).write(to: URL(fileURLWithPath: outside + "/root-file-\(n)")) }
        let tree = sandbox.path + "/tree"
        for n in 0..<30 {
            try FileManager.default.createDirectory(atPath: tree + "/d\(n)", withIntermediateDirectories: true)
            for m in 0..<5 { try Data("x".utf8).write(to: URL(fileURLWithPath: tree + "/d\(n)/f\(m)")) }
        }
        let stop = Atomic<Bool>(false)
        let swapper = Thread {
            var linked = [Bool](repeating: false, count: 30)
            while !stop.load(ordering: .relaxed) {
                for n in 0..<30 {
                    let path = tree + "/d\(n)"
                    // In turn a directory (listed as one) and a link in its place.
                    if linked[n] {
                        if unlink(path) == 0 && rename(path + "-aside", path) == 0 { linked[n] = false }
                    } else if rename(path, path + "-aside") == 0 {
                        linked[n] = symlink(outside, path) == 0
                    }
                }
            }
        }
        swapper.start()
        defer { stop.store(true, ordering: .relaxed) }
        for _ in 0..<200 { try? Ownership.hand([tree], to: Self.nobody) }
        let changed = try FileManager.default.contentsOfDirectory(atPath: outside).filter { owner(outside + "/" + $0) != 0 }
        #expect(changed == [], "the hand-over followed a link and handed over root's files")
    }
}

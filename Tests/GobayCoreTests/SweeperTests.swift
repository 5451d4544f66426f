import Foundation
import GobayTesting
import Testing

@testable import GobayCore

/// Trees set aside are removed on a thread of their own; `drain` returns once they are gone.
@Suite("sweeper: removals off the build's path")
struct SweeperTests {
    @Test func drainWaitsUntilEveryRemovalStartedIsDone() async throws {
        let sandbox = try TestSandbox("sweeper")
        var asides: [String] = []
        for tree in 0..<3 {
            let dir = sandbox.path + "/work/svc-\(tree)"
            for sub in 0..<20 {
                try FileManager.default.createDirectory(atPath: dir + "/d\(sub)", withIntermediateDirectories: true)
                for file in 0..<50 { _ = FileManager.default.createFile(atPath: dir + "/d\(sub)/f\(file)", contents: Data("x".utf8)) }
            }
            let aside = Sweeper.asideName(for: dir)
            #expect(rename(dir, aside) == 0)
            asides.append(aside)
        }
        for aside in asides { Sweeper.remove(aside) }
        await Sweeper.drain()
        #expect(asides.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.path + "/work") == [])
        // Nothing running: drain returns at once.
        await Sweeper.drain()
    }

    /// What a killed gobay left set aside in a work dir goes; a work dir a step swapped for a link
    /// (to a directory holding such a name) is not followed.
    @Test func leftoversGoButNotThroughALinkInTheWorkDirsPlace() throws {
        let sandbox = try TestSandbox("sweep-leftovers")
        let env = sandbox.path + "/env"
        let work = env + "/work"
        for dir in [work + "/.old-checkout-killed/sub", work + "/kept", sandbox.path + "/outside/.old-checkout-theirs"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        #expect(Sweeper.sweepLeftovers(in: work, anchor: env) == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: work) == ["kept"])

        #expect(rename(work, env + "/work-moved") == 0 && symlink(sandbox.path + "/outside", work) == 0)
        #expect(Sweeper.sweepLeftovers(in: work, anchor: env) == 0)
        #expect(FileManager.default.fileExists(atPath: sandbox.path + "/outside/.old-checkout-theirs"), "followed a link")
    }
}


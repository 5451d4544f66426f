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
}

import Foundation
import GobayCore
import GobayTesting
import Testing

/// retention: with `gobay prune` and the server's periodic prune.
@Suite("retention")
struct PruneTests {
    @Test func pruneKeepsTheNewestSuccessPerBranchAndHonoursTheLimits() throws {
        let world = try BuildWorld(label: "prune")
        let good = try String(contentsOfFile: world.modern.path + "/main.go", encoding: .utf8)
        func build() throws -> BuildRecord {
            try world.decodeBuild(try world.gobay.run(["build", "modern-svc", "--json"]).stdout)
        }
        let first = try build()
        try world.modern.commit(["VERSION": "2\n"], message: "two")
        let second = try build()
        try world.modern.commit(["main.go": "package main\n\nfunc main() { undefined() }\n"], message: "broken")
        let third = try build()
        try world.modern.commit(["VERSION": "3\n"], message: "still broken")
        let fourth = try build()
        try world.modern.commit(["main.go": good], message: "fixed")
        let fifth = try build()
        #expect([first, second, third, fourth, fifth].map(\.status) == [.succeeded, .succeeded, .failed, .failed, .succeeded])

        #expect(try world.gobay.run(["prune"]).stdout.contains("no retention: configured"))
        try world.appendConfig("retention: { keep_builds: 3, keep_failed: 1 }")
        let dry = try world.gobay.run(["prune", "--dry-run"])
        #expect(dry.stdout.contains("would remove #\(third.id) modern-svc failed: beyond keep_failed 1"), "\(dry.stdout)")
        #expect(dry.stdout.contains("would remove #\(second.id) modern-svc succeeded: beyond keep_builds 3"))
        #expect(dry.stdout.contains("3 build(s) would be removed"))
        #expect(FileManager.default.fileExists(atPath: world.dataDir + "/builds/\(first.id)"))

        let pruned = try world.gobay.run(["prune"])
        #expect(pruned.stdout.contains("3 build(s) removed"), "\(pruned.stdout)\(pruned.stderr)")
        let left = try JSONDecoder().decode([BuildRecord].self, from: Data(try world.gobay.run(["builds", "--json"]).stdout.utf8))
        #expect(left.map(\.id) == [fifth.id, fourth.id])
        for gone in [first, second, third] {
            #expect(!FileManager.default.fileExists(atPath: world.dataDir + "/builds/\(gone.id)"))
        }
        #expect(FileManager.default.fileExists(atPath: try #require(fifth.artifacts.first).path))

        // The server prunes on its own, every interval, with the config in force.
        try world.editConfig("retention: { keep_builds: 3, keep_failed: 1 }", "retention: { keep_builds: 1, interval: 1s }")
        let server = try world.startServer()
        var remaining: [Int64] = []
        for _ in 0..<100 {
            remaining = try JSONDecoder().decode(
                [BuildRecord].self, from: Data(try world.gobay.run(["builds", "--json"]).stdout.utf8)
            ).map(\.id)
            if remaining == [fifth.id] { break }
            usleep(100_000)
        }
        #expect(remaining == [fifth.id], "\(server.log)")
        #expect(server.log.contains("pruned builds"))
    }
}

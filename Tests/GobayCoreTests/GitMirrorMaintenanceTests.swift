import Foundation
import GobayCore
import GobayTesting
import Testing

/// Builds' fetches skip `git maintenance --auto`; `GitMirror.maintain` (the server's retention
/// loop, `gobay prune`) runs it instead, in mirrors no fetch holds.
@Suite("git mirrors: maintenance off the build path")
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
        #expect(mirror.present(commit: commit) == commit)

        // A fetch in progress holds the mirror's lock: maintenance leaves that mirror alone.
        let lock = try FileLock(path: mirror.path + ".lock")
        lock.lockExclusive()
        #expect(GitMirror.maintain(dataDir: dataDir) == 0)
        lock.unlock()
        // The task packs loose objects, and removes packed ones the next time.
        #expect(GitMirror.maintain(dataDir: dataDir) == 1)
        #expect(GitMirror.maintain(dataDir: dataDir) == 1)
        #expect(try loose() == 0, "maintenance did not pack the loose objects")
    }
}

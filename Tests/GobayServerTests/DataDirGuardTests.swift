import Foundation
import GobayCore
import GobayTesting
import Testing

/// Whole binary: `gobay serve` must refuse to start (exit status, stderr) and the server lock is held by another process.
@Suite("server: a damaged or shared data dir is refused before anything runs", .serialized)
struct DataDirGuardTests {
    /// Runs `gobay serve` and expects it to stop on its own (a server that starts would run until killed).
    func serve(_ world: BuildWorld) throws -> GobayBinary.Result {
        try world.gobay.run(["serve", "--listen", "127.0.0.1:0"], timeout: 20)
    }

    @Test func anEmptyHistoryBesideOldBuildsIsRefused() throws {
        let world = try BuildWorld(label: "emptydb")
        let database = world.dataDir + "/gobay.sqlite"
        let log = world.dataDir + "/builds/1/log"
        try world.sandbox.write("data/builds/1/log", "[gobay] build #1 succeeded\n")
        #expect(FileManager.default.createFile(atPath: database, contents: Data()))

        let result = try serve(world)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("the build history \(database) is empty (0 bytes)"), "\(result.stderr)")
        #expect(result.stderr.contains("restore \(database) from a backup"))
        #expect(!result.stderr.contains("listening on"))
        // Nothing was started again at build 1.
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "[gobay] build #1 succeeded\n")
        #expect((try FileManager.default.attributesOfItem(atPath: database)[.size] as? NSNumber)?.intValue == 0)

        // A fresh data dir (no builds yet) with an empty file is just new.
        let fresh = try BuildWorld(label: "emptydb-fresh")
        try FileManager.default.createDirectory(atPath: fresh.dataDir + "/builds", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: fresh.dataDir + "/gobay.sqlite", contents: Data()))
        #expect(try fresh.gobay.run(["builds"]).status == 0)
    }

    @Test func aDamagedHistoryNamesDamageNotDiskSpace() throws {
        let world = try BuildWorld(label: "corruptdb")
        try world.sandbox.write("data/gobay.sqlite", String(repeating: "this is not a database\n", count: 400))
        let result = try serve(world)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("cannot open the build history \(world.dataDir)/gobay.sqlite"), "\(result.stderr)")
        #expect(result.stderr.contains("the file is damaged: restore it from a backup or move it aside"), "\(result.stderr)")
        #expect(!result.stderr.contains("disk"), "\(result.stderr)")
    }

    @Test func aSecondServerOnTheSameDataDirStopsBeforeTouchingTheQueue() throws {
        let sw = try ServerWorld(label: "twoservers", quiet: "60s")
        let first = try sw.start()
        let reply = try sw.pushModern(first, commit: try sw.world.modern.head())
        #expect(reply.status == 202)
        let queued = sw.builds(first)

        let second = try serve(sw.world)
        #expect(second.status == 1, "\(second.stderr)")
        #expect(second.stderr.contains("another gobay serve (pid \(first.process.pid), listen 127.0.0.1:0)"), "\(second.stderr)")
        #expect(second.stderr.contains("already running on the data dir \(sw.world.dataDir)"), "\(second.stderr)")
        #expect(!second.stderr.contains("scheduler started"))
        // The queue is as the first server left it, and the first server still answers.
        #expect(sw.builds(first).map { $0["status"] as? String } == queued.map { $0["status"] as? String })
        #expect(sw.builds(first).count == 1)
        #expect(first.send("GET", "/healthz").status == 200)

        // Once the first has stopped, a new server starts.
        first.process.signal(SIGTERM)
        #expect(first.process.wait(timeout: 30) == 0)
        let third = try sw.start()
        #expect(sw.builds(third).count == 1)
    }
}

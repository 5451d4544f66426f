import Foundation
import GobayTesting
import Testing

@testable import GobayCore

#if canImport(Glibc)
    import Glibc
#endif

/// An environment's work dir, out dir and GOPATH belong to its step user, so a build's step can
/// replace any directory there with a link to /etc. gobay (root) reaches the directories it
/// places checkouts and binaries in without following a link: the build fails, naming the link,
/// and nothing is moved, removed, made or handed over where the link leads.
@Suite("placing checkouts where steps write never follows a link", .enabled(if: getuid() == 0, "steps run as a user of their own only when gobay runs as root"))
struct PlacementTests {
    /// `dir` with a directory `name` holding a file: what a link must not lead gobay to.
    func outside(_ dir: String, holding name: String) throws -> String {
        try FileManager.default.createDirectory(atPath: dir + "/" + name, withIntermediateDirectories: true)
        try Data("keep\n".utf8).write(to: URL(fileURLWithPath: dir + "/" + name + "/keep.txt"))
        return dir + "/" + name + "/keep.txt"
    }

    func owner(_ path: String) -> uid_t {
        var info = stat()
        _ = lstat(path, &info)
        return info.st_uid
    }

    /// Replaces the directory `path` with a link to `target` for the length of `body`.
    func linked(_ path: String, to target: String, _ body: () throws -> Void) throws {
        #expect(rename(path, path + "-real") == 0 && symlink(target, path) == 0)
        defer {
            unlink(path)
            rename(path + "-real", path)
        }
        try body()
    }

    func failedBuild(_ world: BuildWorld, _ project: String) throws -> BuildRecord? {
        let run = try world.gobay.run(["build", project, "--json"])
        #expect(run.status != 0)
        return try? world.decodeBuild(run.stdout)
    }

    @Test func aWorkDirOutDirOrGopathSwappedForALinkIsRefused() throws {
        let world = try BuildWorld(label: "placement")
        #expect(try world.gobay.run(["build", "modern-svc"]).status == 0)
        #expect(try world.gobay.run(["build", "legacy-svc"]).status == 0)
        let env = world.dataDir + "/envs/modern"
        let sandbox = world.sandbox.path

        // The work dir's parent: the checkout would replace outside/modern-svc.
        let kept = try outside(sandbox + "/outside-work", holding: "modern-svc")
        try linked(env + "/work", to: sandbox + "/outside-work") {
            let record = try failedBuild(world, "modern-svc")
            #expect(record?.status == .failed)
            #expect(record?.error?.contains("\(env)/work is not a directory") == true, "\(String(describing: record?.error))")
        }
        #expect(FileManager.default.fileExists(atPath: kept))
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox + "/outside-work") == ["modern-svc"])
        #expect(owner(sandbox + "/outside-work/modern-svc") == 0)

        // The out dir's parent: it would be made or handed over there.
        let keptOut = try outside(sandbox + "/outside-out", holding: "modern-svc")
        try linked(env + "/out", to: sandbox + "/outside-out") {
            let record = try failedBuild(world, "modern-svc")
            #expect(record?.error?.contains("\(env)/out is not a directory") == true, "\(String(describing: record?.error))")
        }
        #expect(FileManager.default.fileExists(atPath: keptOut) && owner(sandbox + "/outside-out/modern-svc") == 0)
        #expect(owner(keptOut) == 0, "the out dir was handed over where the link leads")

        // A GOPATH component: the checkout of ex.com/team/legacy-svc would replace outside/team/legacy-svc.
        let keptSrc = try outside(sandbox + "/outside-src/team", holding: "legacy-svc")
        let legacySrc = world.dataDir + "/envs/legacy/gopath/src/ex.com"
        try linked(legacySrc, to: sandbox + "/outside-src") {
            let record = try failedBuild(world, "legacy-svc")
            #expect(record?.error?.contains("\(legacySrc) is not a directory") == true, "\(String(describing: record?.error))")
        }
        #expect(FileManager.default.fileExists(atPath: keptSrc))
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox + "/outside-src/team") == ["legacy-svc"])

        // With the links gone, both build again.
        #expect(try world.gobay.run(["build", "modern-svc"]).status == 0)
        #expect(try world.gobay.run(["build", "legacy-svc"]).status == 0)
    }
}

/// `PlacementDirectory` itself: no link below the anchor, work done where it opened even after
/// the path changed, and files read only when they are regular files.
@Suite("placement directories")
struct PlacementDirectoryTests {
    @Test func aLinkBelowTheAnchorIsRefusedAndTheOpenedDirectoryStaysPut() throws {
        let sandbox = try TestSandbox("placement-dir")
        let anchor = sandbox.path + "/data"
        let outside = sandbox.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside + "/b", withIntermediateDirectories: true)
        let place = try PlacementDirectory(anchor + "/a/b", anchor: anchor, owner: nil)
        #expect(FileManager.default.fileExists(atPath: anchor + "/a/b"), "missing directories are made")
        // The path changes under it: a link where `a` was. What is done through `path` lands in
        // the directory opened.
        #expect(rename(anchor + "/a", anchor + "/a-moved") == 0 && symlink(outside, anchor + "/a") == 0)
        try Data("x".utf8).write(to: URL(fileURLWithPath: place.path + "/made"))
        #expect(FileManager.default.fileExists(atPath: anchor + "/a-moved/b/made"))
        #expect(!FileManager.default.fileExists(atPath: outside + "/b/made"))
        // Opened again, the link is refused, naming it.
        do {
            _ = try PlacementDirectory(anchor + "/a/b", anchor: anchor, owner: nil)
            Issue.record("a link below the anchor was followed")
        } catch let error as GobayError {
            #expect(error.message.contains("\(anchor)/a is not a directory"), "\(error.message)")
        }
        #expect(throws: GobayError.self) { try PlacementDirectory(anchor + "/missing", anchor: anchor, owner: nil, create: false) }
        #expect(!FileManager.default.fileExists(atPath: anchor + "/missing"))
    }

    @Test func onlyARegularFileIsRead() throws {
        let sandbox = try TestSandbox("placement-read")
        let place = try PlacementDirectory(sandbox.path + "/dir", anchor: sandbox.path, owner: nil)
        let dir = sandbox.path + "/dir"
        try Data("module x\n".utf8).write(to: URL(fileURLWithPath: dir + "/go.mod"))
        try Data().write(to: URL(fileURLWithPath: dir + "/empty"))
        try Data("secret\n".utf8).write(to: URL(fileURLWithPath: sandbox.path + "/secret"))
        #expect(symlink(sandbox.path + "/secret", dir + "/link") == 0)
        #expect(mkfifo(dir + "/fifo", 0o600) == 0)
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        #expect(place.readRegularFile("go.mod") == Data("module x\n".utf8))
        #expect(place.readRegularFile("empty") == Data())
        #expect(place.readRegularFile("link") == nil, "a link was followed")
        #expect(place.readRegularFile("fifo") == nil && place.readRegularFile("sub") == nil)
        #expect(place.readRegularFile("absent") == nil)
    }

    /// `vendor/modules.txt` tells gobay to build with -mod=vendor: only a regular file reached
    /// without a link counts, so a link to a path of root's tells gobay nothing of what is there.
    @Test func aFileIsHeldOnlyWhenRegularAndReachedWithoutALink() throws {
        let sandbox = try TestSandbox("placement-holds")
        let dir = sandbox.path + "/dir"
        let place = try PlacementDirectory(dir, anchor: sandbox.path, owner: nil)
        for sub in [dir + "/vendor", sandbox.path + "/outside"] {
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
            try Data("# x\n".utf8).write(to: URL(fileURLWithPath: sub + "/modules.txt"))
        }
        #expect(symlink(sandbox.path + "/outside", dir + "/linked-vendor") == 0)
        #expect(symlink(sandbox.path + "/outside/modules.txt", dir + "/link.txt") == 0)
        #expect(mkfifo(dir + "/fifo", 0o600) == 0)
        #expect(place.holdsRegularFile("vendor/modules.txt"))
        #expect(!place.holdsRegularFile("linked-vendor/modules.txt"), "a linked directory was followed")
        #expect(!place.holdsRegularFile("link.txt"), "a link was followed")
        #expect(!place.holdsRegularFile("fifo") && !place.holdsRegularFile("vendor") && !place.holdsRegularFile("absent"))
        #expect(!place.holdsRegularFile("../outside/modules.txt"), "left the directory")
    }
}


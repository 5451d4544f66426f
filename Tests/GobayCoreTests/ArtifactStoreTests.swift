import Crypto
import Foundation
import GobayCore
import GobayTesting
import Testing

/// Artifacts by content: a stable output path Go links into again only when the program
/// changed, identical binaries stored once, older artifacts that never change, and objects
/// removed once no build links to them.
@Suite("artifacts: stored once by content, never rewritten")
struct ArtifactStoreTests {
    @Test func rebuildsShareOneObjectAndOlderArtifactsNeverChange() throws {
        let world = try BuildWorld(label: "artifact-store")
        func build() throws -> BuildRecord {
            let run = try world.gobay.run(["build", "modern-svc", "--json"])
            let record = try world.decodeBuild(run.stdout)
            #expect(record.status == .succeeded, "\(run.stderr)")
            return record
        }
        func inode(_ path: String) -> (ino: UInt, links: UInt, mode: UInt32) {
            var info = stat()
            guard lstat(path, &info) == 0 else { return (0, 0, 0) }
            return (UInt(info.st_ino), UInt(info.st_nlink), UInt32(info.st_mode) & 0o7777)
        }
        func sha256(_ path: String) throws -> String {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        }
        let objects = world.dataDir + "/objects"
        let output = world.dataDir + "/envs/modern/out/modern-svc/modern-svc"

        let first = try build()
        let a1 = try #require(first.artifacts.first)
        let linked = inode(output)
        #expect(linked.ino != 0, "the output stays at its stable path")

        // The same commit again: Go does not link again (a link writes a new file, renamed over
        // the output; see the third build), and the artifact is the first build's object.
        let second = try build()
        let a2 = try #require(second.artifacts.first)
        #expect(a2.sha256 == a1.sha256 && a2.path != a1.path)
        #expect(inode(a1.path).ino == inode(a2.path).ino, "two identical binaries are two files")
        let object = ArtifactStore.object(a1.sha256, in: objects)
        #expect(inode(object).ino == inode(a1.path).ino && inode(object).links == 3)
        #expect(inode(object).mode == 0o555, "objects are never written again")
        #expect(inode(output).ino == linked.ino, "Go linked the unchanged program again")
        let log = try world.gobay.run(["log", String(second.id)]).stdout
        #expect(log.contains("(the same as an earlier build's: stored once)"), "\(log)")

        // A changed program: a new object; the older builds' artifact is as it was.
        try world.modern.commit(
            ["main.go": GoSources.versionPrinter(body: "\tfor i := range 4 {\n\t\t_ = i\n\t}\n")], message: "four")
        let third = try build()
        let a3 = try #require(third.artifacts.first)
        #expect(a3.sha256 != a1.sha256)
        #expect(try sha256(a1.path) == a1.sha256 && sha256(a2.path) == a1.sha256 && sha256(a3.path) == a3.sha256)
        #expect(try sha256(output) == a3.sha256)
        #expect(inode(output).ino != linked.ino, "a link renames a new file over the output")
        #expect(inode(a3.path).ino == inode(ArtifactStore.object(a3.sha256, in: objects)).ino)

        // Pruning the first two builds frees their object; the third's stays.
        try world.appendConfig("retention: { keep_builds: 1 }")
        let pruned = try world.gobay.run(["prune"])
        #expect(pruned.stdout.contains("2 build(s) removed"), "\(pruned.stdout)\(pruned.stderr)")
        #expect(!FileManager.default.fileExists(atPath: object), "an object no build links to stays")
        #expect(try sha256(ArtifactStore.object(a3.sha256, in: objects)) == a3.sha256)
        #expect(try sha256(a3.path) == a3.sha256)
    }
}

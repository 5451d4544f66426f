import Crypto
import Foundation
@testable import GobayCore
import GobayTesting
import Testing

/// Artifacts by content: a stable output path Go links into again only when the program
/// changed, identical binaries stored once, older artifacts that never change, and objects
/// removed once no build links to them.
@Suite("artifacts: stored once by content, never rewritten")
struct ArtifactStoreTests {
    /// An output Go did not link again (the same file, only its times touched) is linked from
    /// its object without being read; a new file in its place is read, even with the old size
    /// and times; bytes written into the old file are not taken.
    @Test func anOutputGoDidNotLinkAgainIsNotReadAndANewOneIs() throws {
        let sandbox = try TestSandbox("output-stamps")
        let data = DataDirectory(sandbox.path + "/data")
        let base = sandbox.path + "/env"
        let output = try sandbox.write("env/out/svc/svc", String(repeating: "v1 binary ", count: 1000))
        func store(_ id: Int64) throws -> ArtifactStore.Stored {
            try ArtifactStore(directory: data.build(id).artifacts, objects: data.objects, stamps: data.outputStamps)
                .store("out/svc/svc", below: base, as: "svc", keepOutput: true)
        }
        func sha256(_ path: String) throws -> String {
            let bytes = try #require(FileManager.default.contents(atPath: path))
            return SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        }
        let first = try store(1)
        let v1 = try sha256(output)
        #expect(!first.deduplicated && first.sha256 == v1)
        // What `go build -o` does when nothing changed: it touches the file's times.
        #expect(utimensat(AT_FDCWD, output, nil, 0) == 0)
        let second = try store(2)
        #expect(second.deduplicated && second.sha256 == v1 && second.size == first.size)
        #expect(try sha256(second.path) == v1)

        // The stamp is what is trusted while the file is the same: pointed at another object,
        // the next build links that one (the output is not read)...
        _ = try sandbox.write("other", "another program")
        let other = try ArtifactStore(directory: data.build(90).artifacts, objects: data.objects)
            .store("other", below: sandbox.path, as: "other")
        let stampFile = OutputStamp.file(for: base + "/out/svc/svc", in: data.outputStamps)
        let stampText = try String(contentsOfFile: stampFile, encoding: .utf8)
        try stampText.replacingOccurrences(of: v1, with: other.sha256)
            .write(toFile: stampFile, atomically: false, encoding: .utf8)
        #expect(try store(3).sha256 == other.sha256)
        try stampText.write(toFile: stampFile, atomically: false, encoding: .utf8)
        #expect(try store(4).sha256 == v1)

        // ...so bytes written into that file are not taken: the artifact is what was hashed.
        let handle = try #require(FileHandle(forWritingAtPath: output))
        try handle.write(contentsOf: Data("XX".utf8))
        try handle.close()
        let inPlace = try store(5)
        let inPlaceStored = try sha256(inPlace.path)
        #expect(inPlace.sha256 == v1 && inPlaceStored == v1)

        // A new file, as Go writes a program it linked again: read, whatever its size and times.
        var old = stat()
        #expect(stat(output, &old) == 0)
        try FileManager.default.removeItem(atPath: output)
        _ = try sandbox.write("env/out/svc/svc", String(repeating: "v2 binary ", count: 1000))
        var times = [old.st_atim, old.st_mtim]
        #expect(utimensat(AT_FDCWD, output, &times, 0) == 0)
        let relinked = try store(6)
        let v2 = try sha256(output)
        #expect(!relinked.deduplicated && relinked.sha256 == v2 && v2 != v1)
        #expect(try sha256(relinked.path) == v2)
        // Older artifacts kept their bytes.
        #expect(try sha256(second.path) == v1)

        // An object collected meanwhile is made again from the output.
        for id in Int64(1)...6 { try FileManager.default.removeItem(atPath: data.build(id).path) }
        #expect(ArtifactStore.collect(objects: data.objects) > 0)
        let again = try store(7)
        let againStored = try sha256(again.path)
        #expect(!again.deduplicated && again.sha256 == v2 && againStored == v2)
    }

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

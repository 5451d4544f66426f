import Foundation
import GobayCore
import GobayTesting
import Testing

/// A data dir on a tiny tmpfs, so writes run out of space for real.
private final class TinyDisk {
    let path: String

    init(_ sandbox: TestSandbox, size: String) throws {
        path = sandbox.path + "/tiny"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let result = try ProcessRunner.capture(
            ProcessSpec(["mount", "-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path], environment: ["PATH": "/usr/bin:/bin:/usr/sbin:/sbin"]))
        guard result.outcome.succeeded else { throw GobayError.failure("cannot mount a tmpfs: \(result.stderr)") }
    }

    deinit {
        _ = try? ProcessRunner.capture(ProcessSpec(["umount", "-l", path], environment: ["PATH": "/usr/bin:/bin:/usr/sbin:/sbin"]))
    }
}

@Suite("a full disk: a clear error and nothing half-written", .serialized)
struct FullDiskTests {
    @Test func toolchainInstallOnAFullDiskInstallsNothing() throws {
        let sandbox = try TestSandbox("fulldisk")
        let disk = try TinyDisk(sandbox, size: "8m")
        let tarball = try GoDevServer.tarball(of: TestToolchains.go122)
        let version = "go" + (try TestToolchains.version(TestToolchains.go122))
        let server = try GoDevServer(
            entries: [GoDevServer.Entry(version: version, tarball: tarball, sha256: try FileDigest.sha256(path: tarball))],
            dir: sandbox.path + "/mirror")
        let config = try sandbox.write("gobay.yml", "data_dir: \(disk.path)/data\ntoolchains:\n  mirror: \(server.mirror)\n")
        let result = try GobayBinary(config: config).run(["toolchain", "install", "1.22"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("no space left on device"), "\(result.stderr)")
        #expect(result.stderr.contains("hint: free some space there"))
        let left = (try? FileManager.default.contentsOfDirectory(atPath: disk.path + "/data/toolchains")) ?? []
        #expect(left.filter { !$0.hasSuffix(".lock") } == [], "\(left)")
    }

    @Test func buildOnAFullDiskFailsClearlyAndRecordsNoHalfArtifact() throws {
        let world = try BuildWorld(label: "fullbuild")
        let disk = try TinyDisk(world.sandbox, size: "2m")
        // Everything fits but the binary (about 1.9 MB).
        try world.editConfig("data_dir: data\n", "data_dir: \(disk.path)/data\n")
        let result = try world.gobay.run(["build", "modern-svc", "--json"])
        #expect(result.status == 1, "\(result.stderr)")
        let record = try world.decodeBuild(result.stdout)
        #expect(record.status == .failed)
        #expect(record.artifacts.isEmpty)
        #expect(result.stderr.contains("no space left on device") || result.stderr.contains("No space left"), "\(result.stderr)")
        let artifacts = disk.path + "/data/builds/\(record.id)/artifacts"
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: artifacts)) ?? []) == [])
        #expect(try world.gobay.run(["log", "\(record.id)"]).stdout.contains("[gobay] build #\(record.id) failed"))
    }
}

import Foundation
import GobayCore
import GobayTesting
import Testing

/// Whole binary against real targets: sshd + supervisord per target (or the same supervisord
/// as `host: local`), a real Go HTTP service that gobay builds, deployed, switched, restarted,
/// health-checked and rolled back.
@Suite("deploy: upload, switch, restart, health, rollback", .serialized)
struct DeployTests {
    @Test(arguments: [false, true])
    func deployThenRollBackOnBadHealthAndOnACrash(local: Bool) throws {
        let dw = try DeployWorld(label: local ? "deploy-local" : "deploy-ssh", local: local)
        defer { dw.stop() }
        let v1 = try dw.release("v1")
        let first = try dw.deploy(["api"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.record?.status == .succeeded && first.record?.build == v1.id)
        #expect(dw.versions() == ["v1", "v1"])
        let v2 = try dw.release("v2")
        let second = try dw.deploy([String(v2.id)])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(dw.versions() == ["v2", "v2"])
        for target in dw.targets {
            #expect(target.currentTarget() == "releases/\(v2.id)", "\(target.name)")
            #expect(try target.supervisorctl(["status", "api"]).contains("RUNNING"))
        }
        let record = try #require(second.record)
        #expect(record.targets.map(\.previousRelease) == [v1.id, v1.id])
        #expect(record.targets.allSatisfy { $0.newRelease == v2.id && $0.status == .succeeded })
        let log = try dw.gobay.run(["deploy-log", String(record.id)]).stdout
        for step in ["prepare", "upload", "verify", "place", "switch", "restart", "health"] {
            #expect(log.contains("[web-1] \(step): done in"), "\(step): \(log)")
        }
        #expect(log.contains("sha256 \(v2.artifacts[0].sha256) matches"))

        // v3 answers 500 on /health: web-1 goes back to v2 by itself; serial never touches web-2.
        let v3 = try dw.release("v3", health: 500)
        let bad = try dw.deploy(["api"])
        #expect(bad.status == 1)
        #expect(bad.record?.status == .rolledBack)
        #expect(bad.record?.targets.map(\.status) == [.rolledBack, .skipped])
        #expect(bad.record?.targets.first?.error?.contains("health check failed") == true, "\(String(describing: bad.record))")
        #expect(dw.versions() == ["v2", "v2"])
        #expect(dw.targets.map { $0.currentTarget() } == ["releases/\(v2.id)", "releases/\(v2.id)"])
        #expect(!FileManager.default.fileExists(atPath: dw.targets[1].deployPath + "/releases/\(v3.id)"), "web-2 was touched")

        // v4 exits at start: supervisor gives up on it, and gobay rolls back.
        try dw.release("v4", crash: true)
        let crash = try dw.deploy(["api", "--target", "web-2"])
        #expect(crash.status == 1)
        #expect(crash.record?.status == .rolledBack && crash.record?.targets.map(\.target) == ["web-2"])
        #expect(crash.record?.targets.first?.error?.contains("supervisor program api is") == true, "\(String(describing: crash.record))")
        #expect(dw.versions() == ["v2", "v2"])

        // The history, newest first.
        let list = try JSONDecoder().decode(
            [DeploymentRecord].self, from: Data(try dw.gobay.run(["deployments", "--project", "api", "--json"]).stdout.utf8))
        #expect(list.map(\.status) == [.rolledBack, .rolledBack, .succeeded, .succeeded])
    }

    /// keep: 2 after five deploys leaves two releases, one of them current.
    @Test func keepPrunesOldReleasesButNeverCurrentOrPrevious() throws {
        let dw = try DeployWorld(label: "deploy-keep", count: 1, deploySettings: "      keep: 2\n")
        defer { dw.stop() }
        var builds: [BuildRecord] = []
        for n in 1...5 {
            builds.append(try dw.release("v\(n)"))
            #expect(try dw.deploy(["api"]).status == 0)
        }
        let releases = try FileManager.default.contentsOfDirectory(atPath: dw.targets[0].deployPath + "/releases")
            .filter { !$0.hasPrefix(".") }
        #expect(Set(releases) == Set(builds.suffix(2).map { String($0.id) }), "\(releases)")
        #expect(dw.targets[0].currentTarget() == "releases/\(builds[4].id)")
        #expect(dw.versions() == ["v5"])
        // Rolling back goes to the previous release, still there.
        let back = try dw.gobay.run(["rollback", "api", "--target", "web-1", "--json"])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(dw.versions() == ["v4"])
        #expect(dw.targets[0].currentTarget() == "releases/\(builds[3].id)")
    }

    /// An artifact changed on disk after its build is refused on its sha256; nothing is touched.
    @Test func aChangedArtifactIsRefused() throws {
        let dw = try DeployWorld(label: "deploy-sha", count: 1)
        defer { dw.stop() }
        let v1 = try dw.release("v1")
        let path = try #require(v1.artifacts.first?.path)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("tampered".utf8))
        try handle.close()
        let refused = try dw.deploy(["api"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("refusing to deploy it"), "\(refused.stderr)")
        #expect(dw.targets[0].currentTarget() == nil)
        #expect(!FileManager.default.fileExists(atPath: dw.targets[0].deployPath + "/releases/\(v1.id)"))
    }

    /// Each failure to reach or use a target names the target, exits 1 and leaves it as it was.
    @Test func unreachableOrMisconfiguredTargetsAreLeftUntouched() throws {
        let dw = try DeployWorld(label: "deploy-errors", count: 1)
        defer { dw.stop() }
        let target = dw.targets[0]
        let v1 = try dw.release("v1")
        #expect(try dw.deploy(["api"]).status == 0)
        try dw.release("v2")
        let original = try String(contentsOfFile: dw.configPath, encoding: .utf8)
        func attempt(_ old: String, _ new: String, expect message: String, prepare: () throws -> Void = {}) throws {
            try original.replacingOccurrences(of: old, with: new).write(toFile: dw.configPath, atomically: true, encoding: .utf8)
            try prepare()
            let result = try dw.deploy(["api"])
            #expect(result.status == 1, "\(message): \(result.stderr)")
            let error = result.record?.targets.first?.error ?? result.stderr
            #expect(error.contains("target web-1") && error.contains(message), "\(message): \(error)")
            #expect(target.currentTarget() == "releases/\(v1.id)", "\(message)")
            #expect(dw.versions() == ["v1"], "\(message)")
            try original.write(toFile: dw.configPath, atomically: true, encoding: .utf8)
        }
        try attempt("known_hosts: \(target.knownHosts)", "known_hosts: \(target.wrongKnownHosts)", expect: "host key")
        try attempt("known_hosts: \(target.knownHosts)", "known_hosts: \(target.emptyKnownHosts)", expect: "host key")
        try attempt("identity_file: \(target.identityFile)", "identity_file: \(target.wrongIdentityFile)", expect: "refused the key")
        let closed = try DeployTarget.freeLoopbackPort()
        try attempt("port: \(target.sshPort)", "port: \(closed)", expect: "cannot connect")
        try attempt("restart: { supervisor: api,", "restart: { supervisor: nope,", expect: "supervisor has no program \"nope\"")
        try attempt(
            "path: \(target.deployPath)", "path: /proc/gobay-cannot-write", expect: "/proc/gobay-cannot-write/releases")
        // Nothing of those attempts is left on the target.
        let releases = try FileManager.default.contentsOfDirectory(atPath: target.deployPath + "/releases")
        #expect(releases == [String(v1.id)], "\(releases)")
    }
}

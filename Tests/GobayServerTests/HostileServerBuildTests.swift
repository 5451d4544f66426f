import Foundation
import GobayCore
import GobayTesting
import Testing

/// The hostile project built by the real server: the server's listening socket, its environment
/// (which holds the webhook secret and the API token) and its database stay out of reach, and
/// the log the API serves masks the secrets the build prints. Whole binary: the sandbox is
/// checked against the real server process.
@Suite("server: a hostile build")
struct HostileServerBuildTests {
    @Test func hostileBuildSeesNoServerSocketNoServerEnvironment() throws {
        let sw = try ServerWorld(label: "hostile-server")
        let seconds = 700_000 + Int.random(in: 0..<100_000)
        let hostile = HostileProject(
            database: sw.world.dataDir + "/gobay.sqlite", config: sw.world.configPath,
            otherEnvironment: sw.world.dataDir + "/envs/legacy", otherArtifacts: sw.world.dataDir + "/builds/1/artifacts",
            probeVariable: "GOBAY_TEST_GITLAB_TOKEN", daemonSeconds: seconds)
        _ = try GitFixture(path: sw.world.sandbox.path + "/repos/hostile-svc", branch: "main", files: hostile.files)
        try sw.world.editConfig(
            "projects:\n", "projects:\n  hostile-svc:\n    repo: repos/hostile-svc\n    branch: main\n    test: true\n")
        chmod(sw.world.configPath, 0o600)
        let server = try sw.start()
        let reply = server.send("POST", "/api/v1/projects/hostile-svc/builds", headers: sw.auth, body: Data("{}".utf8))
        #expect(reply.status == 202, "\(reply.text)")
        let id = try #require(reply.json?["id"] as? Int)
        let record = server.waitForBuild(Int64(id), token: ServerWorld.token, timeout: 300)
        #expect(record?["status"] as? String == "failed", "its test fails on purpose")
        let log = server.send("GET", "/api/v1/builds/\(id)/log", headers: sw.auth).text
        for attack in HostileProject.attacks {
            #expect(log.contains("ATTACK \(attack): blocked"), "\(attack)\n\(log)")
        }
        #expect(!log.contains("SUCCEEDED"), "\(log)")
        let daemons = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter {
            FileManager.default.contents(atPath: "/proc/\($0)/cmdline") == Data("sleep\u{0}\(seconds)\u{0}".utf8)
        }
        #expect(daemons.isEmpty, "daemon still running: \(daemons)")
        // The server still answers, and a normal build after it succeeds.
        let next = server.send("POST", "/api/v1/projects/modern-svc/builds", headers: sw.auth, body: Data("{}".utf8))
        let nextID = try #require(next.json?["id"] as? Int)
        #expect(server.waitForBuild(Int64(nextID), token: ServerWorld.token)?["status"] as? String == "succeeded")
    }
}

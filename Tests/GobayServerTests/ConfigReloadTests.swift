import Foundation
import GobayCore
import GobayTesting
import Testing

/// Whole binary: a reload is a SIGHUP to the process, with builds running under it.
@Suite("server: SIGHUP reloads gobay.yml", .serialized)
struct ConfigReloadTests {
    func configInfo(_ sw: ServerWorld, _ server: ServerHarness) -> [String: Any] {
        server.send("GET", "/api/v1/config", headers: sw.auth).json ?? [:]
    }

    func wait(timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    @Test func sighupReloadsWithoutTouchingRunningBuildsAndRefusesABadFile() throws {
        let sw = try ServerWorld(label: "reload")
        try sw.makeModernSlow(seconds: 3)
        let server = try sw.start()
        #expect(server.send("GET", "/api/v1/config").status == 401)
        let first = configInfo(sw, server)
        let firstHash = try #require(first["hash"] as? String)
        let fileHash = try FileDigest.sha256(path: sw.world.configPath)
        #expect(firstHash == fileHash)
        #expect(first["path"] as? String == sw.world.configPath)
        #expect(Timestamp.date(first["loaded_at"] as? String ?? "") != nil, "\(first)")

        // A slow build runs while the config changes under it.
        let reply = server.send(
            "POST", "/api/v1/projects/modern-svc/builds", headers: sw.auth, body: Data(#"{"ref": "main"}"#.utf8))
        #expect(reply.status == 202, "\(reply.text)")
        let slow = Int64(try #require(reply.json?["id"] as? Int))
        #expect(wait(timeout: 60) { server.send("GET", "/api/v1/builds/\(slow)/log", headers: sw.auth).text.contains("$ go test") })

        let unknown = server.send("POST", "/api/v1/projects/extra-svc/builds", headers: sw.auth, body: Data("{}".utf8))
        #expect(unknown.status == 404)
        try sw.world.editConfig("  newest-svc:\n", "  extra-svc:\n    repo: repos/modern-svc\n    branch: main\n  newest-svc:\n")
        server.process.signal(SIGHUP)
        #expect(wait(timeout: 10) { (configInfo(sw, server)["hash"] as? String) != firstHash })
        #expect(server.process.wait(timeout: 0) == nil, "SIGHUP ended the server")
        #expect(configInfo(sw, server)["hash"] as? String == (try FileDigest.sha256(path: sw.world.configPath)))
        #expect((configInfo(sw, server)["projects"] as? [String])?.contains("extra-svc") == true)
        #expect(server.log.contains("config reloaded"), "\(server.log)")

        // The running build was not cut; the new project builds.
        let slowFinal = server.waitForBuild(slow, token: ServerWorld.token)
        #expect(slowFinal?["status"] as? String == "succeeded", "\(String(describing: slowFinal))")
        let extra = server.send("POST", "/api/v1/projects/extra-svc/builds", headers: sw.auth, body: Data("{}".utf8))
        #expect(extra.status == 202, "\(extra.text)")
        let extraID = Int64(try #require(extra.json?["id"] as? Int))
        #expect(server.waitForBuild(extraID, token: ServerWorld.token)?["status"] as? String == "succeeded")

        // An invalid file is refused with its file:line: key error; the old config stays.
        let goodHash = try #require(configInfo(sw, server)["hash"] as? String)
        try sw.world.editConfig("  max_body: 64KiB\n", "  max_body: 64KiB\n  max_builds: many\n")
        server.process.signal(SIGHUP)
        #expect(wait(timeout: 10) { server.log.contains("config reload refused") }, "\(server.log)")
        let refusal = server.log.split(separator: "\n").first { $0.contains("config reload refused") } ?? ""
        #expect(refusal.contains("\(sw.world.configPath):"), "\(refusal)")
        #expect(refusal.contains("server.max_builds"), "\(refusal)")
        #expect(server.process.wait(timeout: 0) == nil)
        #expect(configInfo(sw, server)["hash"] as? String == goodHash)
        let still = server.send("POST", "/api/v1/projects/extra-svc/builds", headers: sw.auth, body: Data("{}".utf8))
        #expect(still.status == 202, "\(still.text)")
        let stillID = Int64(try #require(still.json?["id"] as? Int))
        _ = server.waitForBuild(stillID, token: ServerWorld.token)
        #expect(sw.builds(server).allSatisfy { $0["status"] as? String == "succeeded" }, "\(sw.builds(server))")
    }
}

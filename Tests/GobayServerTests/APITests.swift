import Foundation
import GobayCore
import GobayTesting
import Testing

/// In process: authorization, errors and the lists over a BuildWorld's gobay.yml.
@Suite("server: HTTP API")
struct APITests {
    @Test func authAndErrors() async throws {
        let sw = try ServerWorld(label: "api")
        try await sw.inProcess().test { server in
            // Reads and writes need a token; errors are JSON with a hint.
            for (method, path) in [("GET", "/api/v1/projects"), ("GET", "/api/v1/builds"), ("POST", "/api/v1/projects/modern-svc/builds")] {
                let none = try await server.send(method, path)
                #expect(none.status == 401)
                #expect(none.json?["error"] as? String == "this endpoint needs a token")
                #expect(none.json?["hint"] != nil)
                let wrong = try await server.send(method, path, headers: ["Authorization": "Bearer nope"])
                #expect(wrong.status == 401)
            }
            let unknown = try await server.send("POST", "/api/v1/projects/nosuch/builds", headers: sw.auth, body: Data("{}".utf8))
            #expect(unknown.status == 404)
            #expect((unknown.json?["error"] as? String)?.contains("unknown project \"nosuch\"") == true)
            let badRef = try await server.send(
                "POST", "/api/v1/projects/modern-svc/builds", headers: sw.auth, body: Data(#"{"ref":"-x"}"#.utf8))
            #expect(badRef.status == 400)
            #expect((badRef.json?["error"] as? String)?.contains("not a valid git ref") == true)
            let notJSON = try await server.send(
                "POST", "/api/v1/projects/modern-svc/builds", headers: sw.auth, body: Data("ref=main".utf8))
            #expect(notJSON.status == 400)
            let missingBuild = try await server.send("GET", "/api/v1/builds/999", headers: sw.auth)
            #expect(missingBuild.status == 404)
            let bogusStatus = try await server.send("GET", "/api/v1/builds?status=bogus", headers: sw.auth)
            #expect(bogusStatus.status == 400)
            let queued = try await sw.builds(server)
            #expect(queued.isEmpty)

            let projects = try await server.send("GET", "/api/v1/projects", headers: sw.auth).jsonArray ?? []
            #expect(projects.compactMap { $0["name"] as? String } == ["legacy-svc", "modern-svc", "newest-svc"])
            let envs = try await server.send("GET", "/api/v1/environments", headers: sw.auth).jsonArray ?? []
            #expect(envs.compactMap { $0["go_version"] as? String } == [sw.world.versions.legacy, sw.world.versions.modern, sw.world.versions.newest])
            #expect(envs.first?["executor"] as? String == "host")
        }
    }

    @Test func publicReadOpensReadsOnly() async throws {
        let sw = try ServerWorld(label: "public", server: "  public_read: true")
        try await sw.inProcess().test { server in
            let projectsRead = try await server.send("GET", "/api/v1/projects")
            #expect(projectsRead.status == 200)
            let buildsRead = try await server.send("GET", "/api/v1/builds")
            #expect(buildsRead.status == 200)
            let trigger = try await server.send("POST", "/api/v1/projects/modern-svc/builds", body: Data("{}".utf8))
            #expect(trigger.status == 401)
        }
    }
}

/// The API over builds that really ran: the binary's scheduler runs them, and cancel kills a real process tree.
@Suite("server: HTTP API over real builds", .serialized)
struct APIOverBuildsTests {
    @Test func filtersPaginationLogsAndArtifactsOfRealBuilds() throws {
        let sw = try ServerWorld(label: "api")
        let server = try sw.start()
        // Three builds, then filters and pagination.
        var ids: [Int] = []
        for project in ["modern-svc", "legacy-svc", "modern-svc"] {
            let reply = server.send("POST", "/api/v1/projects/\(project)/builds", headers: sw.auth, body: Data("{}".utf8))
            #expect(reply.status == 202)
            ids.append(try #require(reply.json?["id"] as? Int))
        }
        for id in ids { _ = server.waitForBuild(Int64(id), token: ServerWorld.token) }
        #expect(sw.builds(server).compactMap { $0["id"] as? Int } == ids.reversed())
        #expect(sw.builds(server, query: "?project=modern-svc").compactMap { $0["id"] as? Int } == [ids[2], ids[0]])
        #expect(sw.builds(server, query: "?limit=1").compactMap { $0["id"] as? Int } == [ids[2]])
        #expect(sw.builds(server, query: "?limit=1&before=\(ids[2])").compactMap { $0["id"] as? Int } == [ids[1]])
        #expect(sw.builds(server, query: "?status=succeeded").count == 3)
        #expect(sw.builds(server, query: "?status=failed").isEmpty)

        let log = server.send("GET", "/api/v1/builds/\(ids[1])/log", headers: sw.auth)
        #expect(log.headers["content-type"]?.hasPrefix("text/plain") == true)
        #expect(log.text.contains("[build] $ go build"))
        let missing = server.send("GET", "/api/v1/builds/\(ids[1])/artifacts/nope", headers: sw.auth)
        #expect(missing.status == 404)
        #expect((missing.json?["hint"] as? String)?.contains("legacy-svc") == true)
    }

    @Test func followStreamsTheLogAndCancelStopsTheBuild() throws {
        let sw = try ServerWorld(label: "follow")
        try sw.makeModernSlow(seconds: 300)
        let server = try sw.start()
        let reply = server.send("POST", "/api/v1/projects/modern-svc/builds", headers: sw.auth, body: Data("{}".utf8))
        let id = try #require(reply.json?["id"] as? Int)
        // Follow in the background while the build runs; cancel once the test step shows up.
        let stream = SSEReader(url: server.baseURL + "/api/v1/builds/\(id)/log?follow=1", token: ServerWorld.token)
        for _ in 0..<600 where !stream.text.contains("$ go test") { usleep(50_000) }
        #expect(stream.text.contains("data: "))
        let cancel = server.send("POST", "/api/v1/builds/\(id)/cancel", headers: sw.auth)
        #expect(cancel.status == 202, "\(cancel.text)")
        #expect(stream.waitForEnd(timeout: 60))
        #expect(stream.text.contains("event: end\ndata: {\"id\":\(id),\"status\":\"canceled\"}"))
        #expect(stream.text.contains("[build]") == false)
        #expect(server.waitForBuild(Int64(id), token: ServerWorld.token)?["status"] as? String == "canceled")
        #expect(sw.leftovers().isEmpty, "\(sw.leftovers())")
        let again = server.send("POST", "/api/v1/builds/\(id)/cancel", headers: sw.auth)
        #expect(again.status == 409)
    }
}

/// The CLI and the server as separate processes sharing a build, a project lock and a cancel.
@Suite("server and CLI together", .serialized)
struct ServerAndCLITests {
    @Test func logFollowAndCancelFromTheCLI() throws {
        let sw = try ServerWorld(label: "clicancel")
        try sw.makeModernSlow(seconds: 300)
        let server = try sw.start()
        let reply = server.send("POST", "/api/v1/projects/modern-svc/builds", headers: sw.auth, body: Data("{}".utf8))
        let id = try #require(reply.json?["id"] as? Int)
        var followSpec = sw.world.gobay.spec(["log", "-f", "\(id)", "--server", server.baseURL])
        followSpec.environment["GOBAY_TOKEN"] = ServerWorld.token
        let follower = try ChildProcess(followSpec, stdoutPath: sw.world.sandbox.path + "/f.out", stderrPath: sw.world.sandbox.path + "/f.err")
        for _ in 0..<600 where !follower.stdout.contains("$ go test") { usleep(50_000) }
        var cancelSpec = sw.world.gobay.spec(["cancel", "\(id)", "--server", server.baseURL])
        cancelSpec.environment["GOBAY_TOKEN"] = ServerWorld.token
        let cancel = try ProcessRunner.capture(cancelSpec)
        #expect(cancel.outcome.status == 0, "\(cancel.stderr)")
        #expect(follower.wait(timeout: 60) == 1)
        #expect(follower.stdout.contains("$ go test"))
        #expect(follower.stderr.contains("build #\(id) canceled"))
        #expect(sw.leftovers().isEmpty)
    }

    @Test func aHandRunBuildAndTheServerShareTheProjectLock() throws {
        let sw = try ServerWorld(label: "sharedlock")
        try sw.makeModernSlow(seconds: 3)
        let server = try sw.start()
        let cli = try ChildProcess(
            sw.world.gobay.spec(["build", "modern-svc", "--json"]), stdoutPath: sw.world.sandbox.path + "/cli.json",
            stderrPath: sw.world.sandbox.path + "/cli.log")
        for _ in 0..<600 where !cli.stderr.contains("$ go test") { usleep(50_000) }
        let reply = server.send("POST", "/api/v1/projects/modern-svc/builds", headers: sw.auth, body: Data("{}".utf8))
        let id = try #require(reply.json?["id"] as? Int)
        #expect(cli.wait(timeout: 120) == 0, "\(cli.stderr)")
        let handRun = try sw.world.decodeBuild(cli.stdout)
        let serverRun = try #require(server.waitForBuild(Int64(id), token: ServerWorld.token))
        #expect(serverRun["status"] as? String == "succeeded")
        let started = try #require(Timestamp.date(serverRun["started_at"] as? String ?? ""))
        let handFinished = try #require(handRun.finishedAt)
        #expect(started >= handFinished.addingTimeInterval(-0.01), "the server's build started while the hand-run one held the project")
    }
}

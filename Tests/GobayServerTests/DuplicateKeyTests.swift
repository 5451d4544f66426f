import Foundation
import GobayCore
import GobayTesting
import Testing

@testable import GobayServer

/// The duplicate-key scanner, and the router's answers to it in process.
@Suite("server: a JSON key written twice is refused alike by webhooks and the API")
struct DuplicateKeyTests {
    @Test(arguments: [
        (#"{"ref":"main","ref":"x"}"#, "ref"),
        (#"{"a":{"b":1,"b":2}}"#, "b"),
        (#"[{"a":1},{"a":2,"c":{"d":[1,{"e":0,"e":1}]}}]"#, "e"),
        (#"{"ref":"main","r\u0065f":"x"}"#, "ref"),
        (#"{"k\"":1,"k\\":2,"k\"":3}"#, "k\""),
        (#"{"\ud83d\ude00":1,"😀":2}"#, "😀"),
    ])
    func duplicatesAreFound(json: String, key: String) {
        #expect(DuplicateJSONKey.find(in: Data(json.utf8)) == key)
    }

    @Test(arguments: [
        #"{"ref":"main","commit":"abc"}"#,
        #"{"a":{"x":1},"b":{"x":1},"x":[{"x":1},{"x":2}]}"#,
        #"{"s":"{\"ref\":1,\"ref\":2}","ref":"x"}"#,
        #"{"ref":"main","refs":"x","Ref":"y"}"#,
        #"["ref","ref"]"#,
    ])
    func distinctKeysPass(json: String) {
        #expect(DuplicateJSONKey.find(in: Data(json.utf8)) == nil)
    }

    @Test func theAPIAndAGitLabHookBothAnswer400() async throws {
        let sw = try ServerWorld(label: "dupkeys", quiet: "60s")
        let good = try WebhookFixtures.gitlabPush(repo: sw.world.modern.path, branch: "main", commit: try sw.world.modern.head())
        try await sw.inProcess().test { server in
            let api = try await server.send(
                "POST", "/api/v1/projects/modern-svc/builds", headers: sw.auth, body: Data(#"{"ref":"main","ref":"x"}"#.utf8))
            #expect(api.status == 400, "\(api.text)")
            #expect(api.json?["error"] as? String == #"the JSON body has the key "ref" twice"#, "\(api.text)")
            #expect(api.json?["hint"] != nil)

            let text = String(decoding: good, as: UTF8.self)
            #expect(text.hasPrefix("{"))
            // A second "ref" in front of the real one: the last would win and build main.
            let doubled = Data(("{\"ref\":\"refs/heads/release\"," + text.dropFirst()).utf8)
            let headers = [
                "X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "project-secret", "Content-Type": "application/json",
            ]
            let hook = try await server.send("POST", "/hooks/gitlab", headers: headers, body: doubled)
            #expect(hook.status == 400, "\(hook.text)")
            #expect(hook.json?["error"] as? String == api.json?["error"] as? String, "\(hook.text)")
            #expect(hook.json?["hint"] as? String == api.json?["hint"] as? String)
            // Without a valid token the caller learns nothing about the body.
            var unsigned = headers
            unsigned["X-Gitlab-Token"] = "wrong"
            let unsignedHook = try await server.send("POST", "/hooks/gitlab", headers: unsigned, body: doubled)
            #expect(unsignedHook.status == 401)
            // The same payload without the duplicate is queued.
            let goodHook = try await server.send("POST", "/hooks/gitlab", headers: headers, body: good)
            #expect(goodHook.status == 202)
            let queued = try await sw.builds(server)
            #expect(queued.count == 1)
        }
    }
}

/// In process: the router's metrics authorization and cancel answer.
@Suite("server: metrics need a token unless public_read; cancel answers a numeric id")
struct MetricsAndCancelTests {
    @Test func metricsFollowPublicRead() async throws {
        let sw = try ServerWorld(label: "metrics")
        try await sw.inProcess().test { server in
            let none = try await server.send("GET", "/metrics")
            #expect(none.status == 401)
            #expect(none.json?["error"] as? String == "this endpoint needs a token")
            let wrongToken = try await server.send("GET", "/metrics", headers: ["Authorization": "Bearer nope"])
            #expect(wrongToken.status == 401)
            let authorized = try await server.send("GET", "/metrics", headers: sw.auth)
            #expect(authorized.status == 200)
            #expect(authorized.text.contains("gobay_queue_depth"))
        }
        let open = try ServerWorld(label: "metrics-public", server: "  public_read: true")
        try await open.inProcess().test { publicServer in
            let openMetrics = try await publicServer.send("GET", "/metrics")
            #expect(openMetrics.status == 200)
        }
    }

    @Test func cancelAnswersTheIdAsANumber() async throws {
        // A long quiet period keeps the build queued, so the cancel is answered at once.
        let sw = try ServerWorld(label: "cancelid", quiet: "60s")
        try await sw.inProcess().test { server in
            let reply = try await server.send(
                "POST", "/api/v1/projects/modern-svc/builds", headers: sw.auth, body: Data("{}".utf8))
            let id = try #require(reply.json?["id"] as? Int)
            let cancel = try await server.send("POST", "/api/v1/builds/\(id)/cancel", headers: sw.auth)
            #expect(cancel.status == 202, "\(cancel.text)")
            #expect(cancel.text.contains("\"id\":\(id),"), "\(cancel.text)")
            #expect(cancel.json?["id"] as? Int == id)
        }
    }
}

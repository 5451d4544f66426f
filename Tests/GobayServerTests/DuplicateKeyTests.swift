import Foundation
import GobayCore
import GobayTesting
import Testing

@testable import GobayServer

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

    @Test func theAPIAndAGitLabHookBothAnswer400() throws {
        let sw = try ServerWorld(label: "dupkeys", quiet: "60s")
        let server = try sw.start()
        let api = server.send(
            "POST", "/api/v1/projects/modern-svc/builds", headers: sw.auth, body: Data(#"{"ref":"main","ref":"x"}"#.utf8))
        #expect(api.status == 400, "\(api.text)")
        #expect(api.json?["error"] as? String == #"the JSON body has the key "ref" twice"#, "\(api.text)")
        #expect(api.json?["hint"] != nil)

        let good = try WebhookFixtures.gitlabPush(repo: sw.world.modern.path, branch: "main", commit: try sw.world.modern.head())
        let text = String(decoding: good, as: UTF8.self)
        #expect(text.hasPrefix("{"))
        // A second "ref" in front of the real one: the last would win and build main.
        let doubled = Data(("{\"ref\":\"refs/heads/release\"," + text.dropFirst()).utf8)
        let headers = [
            "X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "project-secret", "Content-Type": "application/json",
        ]
        let hook = server.send("POST", "/hooks/gitlab", headers: headers, body: doubled)
        #expect(hook.status == 400, "\(hook.text)")
        #expect(hook.json?["error"] as? String == api.json?["error"] as? String, "\(hook.text)")
        #expect(hook.json?["hint"] as? String == api.json?["hint"] as? String)
        // Without a valid token the caller learns nothing about the body.
        var unsigned = headers
        unsigned["X-Gitlab-Token"] = "wrong"
        #expect(server.send("POST", "/hooks/gitlab", headers: unsigned, body: doubled).status == 401)
        // The same payload without the duplicate is queued.
        #expect(server.send("POST", "/hooks/gitlab", headers: headers, body: good).status == 202)
        #expect(sw.builds(server).count == 1)
    }
}

@Suite("server: metrics need a token unless public_read; cancel answers a numeric id", .serialized)
struct MetricsAndCancelTests {
    @Test func metricsFollowPublicRead() throws {
        let sw = try ServerWorld(label: "metrics")
        let server = try sw.start()
        let none = server.send("GET", "/metrics")
        #expect(none.status == 401)
        #expect(none.json?["error"] as? String == "this endpoint needs a token")
        #expect(server.send("GET", "/metrics", headers: ["Authorization": "Bearer nope"]).status == 401)
        let authorized = server.send("GET", "/metrics", headers: sw.auth)
        #expect(authorized.status == 200)
        #expect(authorized.text.contains("gobay_queue_depth"))

        let open = try ServerWorld(label: "metrics-public", server: "  public_read: true")
        let publicServer = try open.start()
        #expect(publicServer.send("GET", "/metrics").status == 200)
    }

    @Test func cancelAnswersTheIdAsANumber() throws {
        // A long quiet period keeps the build queued, so the cancel is answered at once.
        let sw = try ServerWorld(label: "cancelid", quiet: "60s")
        let server = try sw.start()
        let reply = server.send("POST", "/api/v1/projects/modern-svc/builds", headers: sw.auth, body: Data("{}".utf8))
        let id = try #require(reply.json?["id"] as? Int)
        let cancel = server.send("POST", "/api/v1/builds/\(id)/cancel", headers: sw.auth)
        #expect(cancel.status == 202, "\(cancel.text)")
        #expect(cancel.text.contains("\"id\":\(id),"), "\(cancel.text)")
        #expect(cancel.json?["id"] as? Int == id)
    }
}

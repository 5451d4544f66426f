import Foundation
import GobayCore
import GobayServer
import GobayTesting
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Testing

/// Every endpoint, driven in process through Hummingbird's test client: the real router and
/// controllers over an in-memory database, a real git repository and the real fixture bodies.
/// (Whole-binary tests keep crash, signal and end-to-end behaviour.)
@Suite("server routes in process")
struct RouterTests {
    static let token = "router-test-token"
    static let secret = "router-hook-secret"

    let sandbox: TestSandbox
    let repo: GitFixture
    let server: InProcessServer

    init() throws {
        sandbox = try TestSandbox("router")
        repo = try GitFixture(path: sandbox.path + "/repos/svc", files: ["go.mod": "module example.com/svc\n\ngo 1.22\n", "main.go": "package main\n\nfunc main() {}\n"])
        let tokenHash = FileDigest.sha256(data: Data(Self.token.utf8))
        let text = """
            data_dir: \(sandbox.path)/data
            server:
              tokens: ["sha256:\(tokenHash)"]
              webhook_secret: \(Self.secret)
              quiet_period: 1h
            environments:
              go122: { go: "1.22", goroot: \(TestToolchains.go122) }
            projects:
              svc: { repo: \(repo.path), environment: go122, branch: main }
              private: { repo: "https://ci:hunter2@git.example.com/private.git", environment: go122 }
            """
        server = try InProcessServer(configText: text, path: sandbox.path + "/gobay.yml", hash: "abc123")
    }

    var parts: RouterParts { server.parts }

    var auth: HTTPFields { [.authorization: "Bearer \(Self.token)"] }

    func json(_ body: ByteBuffer) throws -> Any { try JSONSerialization.jsonObject(with: Data(buffer: body)) }

    func object(_ body: ByteBuffer) throws -> [String: Any] { try #require(try json(body) as? [String: Any]) }

    @Test func healthAndMetrics() async throws {
        let app = Application(router: buildRouter(parts))
        try await app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok && String(buffer: response.body) == "ok\n")
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/metrics", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("gobay_queue_depth 0"))
            }
        }
    }

    @Test func projectsConfigAndEnvironments() async throws {
        let app = Application(router: buildRouter(parts))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/projects", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/api/v1/projects", method: .get, headers: [.authorization: "Bearer wrong"]) { response in
                #expect(response.status == .unauthorized)
                let answer = try object(response.body)
                #expect(answer["error"] as? String == "the token is not valid")
            }
            try await client.execute(uri: "/api/v1/projects", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                #expect(text.contains("\"svc\"") && !text.contains("hunter2"), "\(text)")
            }
            try await client.execute(uri: "/api/v1/config", method: .get, headers: auth) { response in
                let answer = try object(response.body)
                #expect(answer["hash"] as? String == "abc123")
                #expect(answer["projects"] as? [String] == ["svc", "private"])
            }
            try await client.execute(uri: "/api/v1/environments", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                let list = try #require(try json(response.body) as? [[String: Any]])
                #expect(list.map { $0["name"] as? String } == ["go122"])
            }
        }
    }

    @Test func triggerReadCancelLogAndArtifacts() async throws {
        let app = Application(router: buildRouter(parts))
        try await app.test(.router) { client in
            let trigger = "/api/v1/projects/svc/builds"
            try await client.execute(uri: trigger, method: .post, body: ByteBuffer(string: #"{"ref":"main"}"#)) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/api/v1/projects/nope/builds", method: .post, headers: auth) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: trigger, method: .post, headers: auth, body: ByteBuffer(string: #"{"ref":"nope"}"#)) {
                response in
                #expect(response.status == .unprocessableContent)
                let answer = try object(response.body)
                #expect((answer["error"] as? String)?.contains("ref \"nope\" does not exist") == true)
            }
            try await client.execute(uri: trigger, method: .post, headers: auth, body: ByteBuffer(string: #"{"bogus":1}"#)) {
                response in
                #expect(response.status == .badRequest)
                let answer = try object(response.body)
                #expect(answer["error"] as? String == "unknown field \"bogus\" in the body")
            }
            try await client.execute(uri: trigger, method: .post, headers: auth, body: ByteBuffer(string: #"{"ref":"$(id)"}"#)) {
                response in
                #expect(response.status == .badRequest)
            }
            var id = 0
            try await client.execute(uri: trigger, method: .post, headers: auth, body: ByteBuffer(string: #"{"ref":"main"}"#)) {
                response in
                #expect(response.status == .accepted)
                let record = try object(response.body)
                #expect(record["status"] as? String == "queued" && record["trigger"] as? String == "api")
                id = try #require(record["id"] as? Int)
            }
            try await client.execute(uri: "/api/v1/builds", method: .get, headers: auth) { response in
                let list = try #require(try json(response.body) as? [[String: Any]])
                #expect(list.map { $0["id"] as? Int } == [id])
            }
            try await client.execute(uri: "/api/v1/builds?status=queued&project=svc&limit=5", method: .get, headers: auth) {
                response in
                let list = try json(response.body) as? [[String: Any]]
                #expect(list?.count == 1)
            }
            for bad in ["status=bogus", "limit=0", "before=x"] {
                try await client.execute(uri: "/api/v1/builds?\(bad)", method: .get, headers: auth) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                }
            }
            try await client.execute(uri: "/api/v1/builds?project=nope", method: .get, headers: auth) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/builds/\(id)", method: .get, headers: auth) { response in
                let answer = try object(response.body)
                #expect(answer["id"] as? Int == id)
            }
            try await client.execute(uri: "/api/v1/builds/999", method: .get, headers: auth) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/builds/abc", method: .get, headers: auth) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/api/v1/builds/\(id)/log", method: .get, headers: auth) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "text/plain; charset=utf-8")
            }
            try await client.execute(uri: "/api/v1/builds/\(id)/artifacts/svc", method: .get, headers: auth) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/builds/\(id)/cancel", method: .post, headers: auth) { response in
                #expect(response.status == .accepted)
            }
            try await client.execute(uri: "/api/v1/builds/\(id)/cancel", method: .post, headers: auth) { response in
                #expect(response.status == .conflict)
                let answer = try object(response.body)
                #expect(answer["error"] as? String == "build #\(id) already ended canceled")
            }
        }
    }

    @Test func webhooksQueueVerifyAndRefuse() async throws {
        let app = Application(router: buildRouter(parts))
        let commit = try repo.head()
        let body = ByteBuffer(data: try WebhookFixtures.gitlabPush(repo: repo.path, branch: "main", commit: commit))
        try await app.test(.router) { client in
            try await client.execute(uri: "/hooks/nosuch", method: .post, body: body) { response in
                #expect(response.status == .notFound)
            }
            let event: HTTPFields = [HTTPField.Name("X-Gitlab-Event")!: "Push Hook"]
            var wrong = event
            wrong[HTTPField.Name("X-Gitlab-Token")!] = "wrong"
            try await client.execute(uri: "/hooks/gitlab", method: .post, headers: wrong, body: body) { response in
                #expect(response.status == .unauthorized)
            }
            var signed = event
            signed[HTTPField.Name("X-Gitlab-Token")!] = Self.secret
            signed[HTTPField.Name("X-Gitlab-Event-UUID")!] = "delivery-1"
            var queued = 0
            try await client.execute(uri: "/hooks/gitlab", method: .post, headers: signed, body: body) { response in
                #expect(response.status == .accepted)
                let answer = try object(response.body)
                let builds = try #require(answer["queued"] as? [[String: Any]])
                #expect(builds.map { $0["project"] as? String } == ["svc"] && builds.first?["commit"] as? String == commit)
                queued = try #require(builds.first?["id"] as? Int)
            }
            // A redelivery gets the stored answer and queues nothing more.
            try await client.execute(uri: "/hooks/gitlab", method: .post, headers: signed, body: body) { response in
                #expect(response.status == .accepted && response.headers[HTTPField.Name("X-Gobay-Redelivery")!] == "true")
            }
            try await client.execute(uri: "/api/v1/builds", method: .get, headers: auth) { response in
                let list = try #require(try json(response.body) as? [[String: Any]])
                #expect(list.map { $0["id"] as? Int } == [queued])
                #expect(list.first?["trigger"] as? String == "webhook")
            }
            // A new delivery (a redelivery of delivery-1 would get its stored answer before parsing).
            var fresh = signed
            fresh[HTTPField.Name("X-Gitlab-Event-UUID")!] = "delivery-2"
            try await client.execute(
                uri: "/hooks/gitlab", method: .post, headers: fresh, body: ByteBuffer(string: "{not json")
            ) { response in
                #expect(response.status == .badRequest)
            }
        }
    }
}

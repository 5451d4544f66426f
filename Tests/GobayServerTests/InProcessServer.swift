import Foundation
import GRDB
import GobayCore
import GobayServer
import GobayTesting
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging

/// The real router and controllers over a gobay.yml, driven in process through Hummingbird's
/// test client: no binary, no port, no server lock, no crash recovery and no scheduler loop
/// (queued builds stay queued). The database is in memory unless a test asks for the data dir's.
struct InProcessServer {
    let parts: RouterParts

    /// The history the router reads and writes.
    var database: AppDatabase { parts.database }

    /// Builds the parts from the config at `configPath`, resolving `environment` as `serve` would.
    init(configPath: String, environment: [String: String] = [:], fileDatabase: Bool = false) throws {
        let loaded = try LoadedConfig.read(path: configPath, listen: nil, environment: environment)
        try self.init(loaded: loaded, environment: environment, fileDatabase: fileDatabase)
    }

    /// Builds the parts from config text that no file holds; `path` is where it would be, `hash` what
    /// `/api/v1/config` reports.
    init(
        configText: String, path: String, hash: String, environment: [String: String] = [:], fileDatabase: Bool = false
    ) throws {
        let config = try ConfigLoader.parse(configText, path: path)
        let loaded = try LoadedConfig(config: config, hash: hash, environment: environment)
        try self.init(loaded: loaded, environment: environment, fileDatabase: fileDatabase)
    }

    private init(loaded: LoadedConfig, environment: [String: String], fileDatabase: Bool) throws {
        let config = loaded.config
        let database = fileDatabase ? try AppDatabase(dataDir: config.dataDir) : try AppDatabase(DatabaseQueue())
        let logger = Logger(label: "in-process-server")
        parts = RouterParts(
            config: ConfigHolder(loaded), database: database,
            scheduler: try Scheduler(config: config, database: database, hooks: Scheduler.Hooks()),
            reporter: CommitStatusReporter(
                publicURL: config.server.publicURL ?? "http://127.0.0.1:1",
                logTarget: .dashboard, environment: environment
            ) { _ in },
            metrics: ServerMetrics(), watcher: nil, logger: logger)
    }

    /// Runs `body` against the router.
    func test(_ body: @Sendable (InProcessClient) async throws -> Void) async throws {
        let app = Application(router: buildRouter(parts))
        try await app.test(.router) { client in try await body(InProcessClient(client: client)) }
    }
}

extension ServerWorld {
    /// This world's gobay.yml served in process, with the same environment `start()` gives the binary.
    func inProcess(fileDatabase: Bool = false) throws -> InProcessServer {
        try InProcessServer(
            configPath: world.configPath, environment: ["GOBAY_TEST_GITLAB_TOKEN": Self.gitlabToken],
            fileDatabase: fileDatabase)
    }

    /// Sends a GitLab push of `commit` on `branch` of modern-svc to the router.
    func pushModern(_ client: InProcessClient, commit: String, branch: String = "main", uuid: String = UUID().uuidString,
                    token: String = "project-secret") async throws -> InProcessClient.Reply {
        let body = try WebhookFixtures.gitlabPush(repo: world.modern.path, branch: branch, commit: commit)
        return try await client.send(
            "POST", "/hooks/gitlab",
            headers: ["X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": token, "X-Gitlab-Event-UUID": uuid,
                      "Content-Type": "application/json"],
            body: body)
    }

    /// Builds in the history, newest first, as the router lists them.
    func builds(_ client: InProcessClient, query: String = "") async throws -> [[String: Any]] {
        try await client.send("GET", "/api/v1/builds" + query, headers: auth).jsonArray ?? []
    }
}

/// Hummingbird's test client with the request and reply shapes of `HTTPTestClient`, so a test reads
/// the same in process as against the binary.
struct InProcessClient: Sendable {
    let client: any TestClientProtocol

    /// A reply: status, headers with lower-cased names, and the body.
    struct Reply: Sendable {
        var status: Int
        var headers: [String: String]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
        var jsonArray: [[String: Any]]? { (try? JSONSerialization.jsonObject(with: body)) as? [[String: Any]] }
    }

    /// Sends one request and collects the whole reply.
    func send(_ method: String, _ path: String, headers: [String: String] = [:], body: Data? = nil) async throws -> Reply {
        var fields = HTTPFields()
        for (name, value) in headers {
            guard let field = HTTPField.Name(name) else { throw GobayError.failure("bad header name \(name)") }
            fields[field] = value
        }
        let response = try await client.execute(
            uri: path, method: HTTPRequest.Method(rawValue: method) ?? .get, headers: fields,
            body: body.map { ByteBuffer(data: $0) }
        ) { $0 }
        var replyHeaders: [String: String] = [:]
        for field in response.headers { replyHeaders[field.name.canonicalName] = field.value }
        return Reply(status: Int(response.status.code), headers: replyHeaders, body: Data(buffer: response.body))
    }
}

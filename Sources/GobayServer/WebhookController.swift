import Foundation
import GobayCore
import HTTPTypes
import Hummingbird
import Logging

/// `POST /hooks/{gitlab,github,gitea,gogs}`: verifies a push, matches it to projects and queues
/// builds. Answers in milliseconds and never starts a process: the build does its git work later.
struct WebhookController: Sendable {
    let configHolder: ConfigHolder
    let database: AppDatabase
    let scheduler: Scheduler
    let reporter: CommitStatusReporter
    let metrics: ServerMetrics
    let logger: Logger
    let libraryUpdates: LibraryUpdateService?

    /// The answer to a delivery, stored so a redelivery gets it again.
    struct Answer: Codable {
        struct Queued: Codable {
            var id: Int64
            var project: String
            var ref: String
            var commit: String
        }
        /// A library this push updates.
        struct Library: Codable {
            var name: String
            var commit: String
        }
        var queued: [Queued] = []
        var superseded: [Int64] = []
        var libraries: [Library]?
        var reason: String?
    }

    /// The routes, to be added at `/hooks`.
    var endpoints: RouteCollection<BasicRequestContext> {
        let hooks = RouteCollection(context: BasicRequestContext.self)
        hooks.post(":sender") { request, context in
            try await handle(request, context)
        }
        return hooks
    }

    func handle(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let senderName = context.parameters.get("sender") ?? ""
        guard let sender = WebhookSender(rawValue: senderName) else {
            throw APIError(.notFound, "no webhook endpoint for \"\(senderName)\"", hint: "use /hooks/gitlab, /hooks/github, /hooks/gitea or /hooks/gogs")
        }
        let body: Data
        do {
            body = Data(buffer: try await request.body.collect(upTo: configHolder.current.config.server.maxBody))
        } catch {
            metrics.delivery(sender: sender.rawValue, result: "too_large")
            logRefusal(sender, status: 413, reason: "the body is larger than server.max_body (\(configHolder.current.config.server.maxBody) bytes)")
            throw APIError(
                .contentTooLarge, "the body is larger than \(configHolder.current.config.server.maxBody) bytes",
                hint: "raise server.max_body if such hooks are expected")
        }
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
        // A redelivery first, before any parsing or matching: checked against the secret that
        // verified the first delivery, it gets the stored answer.
        if let id = WebhookParser.deliveryID(sender: sender, headers: headers),
            let stored = try await database.storedDelivery(sender: sender.rawValue, id: id),
            let trustedBy = stored.trustedBy,
            configHolder.current.trust.verifies(sender: sender, headers: headers, body: body, trustedBy: trustedBy)
        {
            return redelivery(sender, stored.body)
        }

        let event: WebhookEvent
        do {
            event = try WebhookParser.parse(sender: sender, headers: headers, body: body)
            if case .push = event, let key = DuplicateJSONKey.find(in: body) { throw DuplicateJSONKey.refusal(key) }
        } catch {
            // Only a caller holding some configured secret learns that the JSON was bad.
            let loaded = configHolder.current
            guard loaded.trust.trusted(sender: sender, headers: headers, body: body, projects: loaded.config.projects) != nil
            else {
                return unauthorized(sender)
            }
            metrics.delivery(sender: sender.rawValue, result: "malformed")
            if let refusal = error as? APIError {
                logRefusal(sender, status: Int(refusal.status.code), reason: refusal.message)
                throw refusal
            }
            let reason = "the body is not a valid \(sender.rawValue) payload: \(describe(error))"
            logRefusal(sender, status: 400, reason: reason)
            throw APIError(.badRequest, reason)
        }
        let loaded = configHolder.current
        let planner = PushPlanner(config: loaded.config, repositories: loaded.repositories)
        let candidates = planner.candidates(for: event)
        // A push to a shared library: its own secret or the global one may ask for it (a
        // project's secret is trusted for that project alone).
        let libraries = loaded.trust.trusted(
            sender: sender, headers: headers, body: body, libraries: planner.libraries(for: event))
        let trusted = loaded.trust.trusted(
            sender: sender, headers: headers, body: body,
            projects: candidates.isEmpty ? loaded.config.projects : candidates)
        if trusted == nil && libraries.isEmpty { return unauthorized(sender) }
        let deliveryID = WebhookParser.deliveryID(sender: sender, headers: headers)
        var plan = planner.plan(for: event, projects: candidates.isEmpty ? [] : trusted ?? [])
        // The library's dependents known from their builds are queued with this answer; the
        // update of every environment runs in the background.
        if case .push(let push) = event, !libraries.isEmpty {
            let own = Set(plan.builds.map(\.project))
            let uses = try await database.latestLibraryUse(projects: loaded.config.projects.map(\.name))
            plan.builds += planner.libraryRebuilds(libraries, push: push, uses: uses).filter { !own.contains($0.project) }
            if plan.builds.isEmpty {
                plan.reason =
                    "library \(libraries.map(\.name).joined(separator: ", ")): updating its environments; "
                    + (libraries.allSatisfy { $0.rebuild == .none } ? "rebuild: none" : "no dependent has built yet")
            } else {
                plan.reason = nil
            }
        }
        let libraryAnswer = libraries.isEmpty ? nil : libraries.map { lib -> Answer.Library in
            if case .push(let push) = event { return Answer.Library(name: lib.name, commit: push.after) }
            return Answer.Library(name: lib.name, commit: "")
        }
        let reason = plan.reason
        let projects = plan.builds.map(\.project)
        let refs = plan.builds.map(\.ref)
        let commits = plan.builds.map { $0.commit ?? "" }
        // One transaction: a redelivery gets the stored answer; a new delivery queues its builds
        // and stores the answer with its id.
        // Whose secret verified it: the first trusted project's, a library's, or the global one.
        let trustedBy =
            trusted?.first.map { "project:\($0.name)" } ?? (trusted == nil ? libraries.first.map { "library:\($0.name)" } : nil)
            ?? ""
        let result = try await database.acceptDelivery(
            sender: sender.rawValue, id: deliveryID, builds: plan.builds, trustedBy: trustedBy
        ) {
            queued in
            var answer = Answer(libraries: libraryAnswer, reason: reason)
            for (index, build) in queued.enumerated() {
                answer.queued.append(.init(id: build.id, project: projects[index], ref: refs[index], commit: commits[index]))
                answer.superseded += build.superseded
            }
            return String(decoding: (try? JSONResponse.encoder.encode(answer)) ?? Data("{}".utf8), as: UTF8.self)
        }
        if result.duplicate { return redelivery(sender, result.body) }
        for (index, build) in result.queued.enumerated() {
            // A library rebuild names no commit of the project until it is planned.
            if !commits[index].isEmpty, let project = configHolder.current.config.projects.first(where: { $0.name == projects[index] }) {
                reporter.report(project: project, sha: commits[index], state: .pending, buildID: build.id, description: "queued")
            }
        }
        metrics.delivery(sender: sender.rawValue, result: result.queued.isEmpty ? "ignored" : "queued")
        if !result.queued.isEmpty { scheduler.wake() }
        for library in libraryAnswer ?? [] { libraryUpdates?.request(library.name, commit: library.commit) }
        logger.info(
            "webhook",
            metadata: [
                "hook.sender": "\(sender.rawValue)", "hook.queued": "\(result.queued.map(\.id))", "hook.reason": "\(reason ?? "")",
            ])
        return JSONResponse.text(result.body, status: .accepted)
    }

    /// The stored answer to a delivery seen before; nothing is queued again.
    private func redelivery(_ sender: WebhookSender, _ body: String) -> Response {
        metrics.delivery(sender: sender.rawValue, result: "duplicate")
        var response = JSONResponse.text(body, status: .accepted)
        if let name = HTTPField.Name("X-Gobay-Redelivery") { response.headers[name] = "true" }
        return response
    }

    /// Logs a refused delivery with its reason; never the body, headers or secrets.
    private func logRefusal(_ sender: WebhookSender, status: Int, reason: String) {
        logger.warning(
            "webhook refused", metadata: ["hook.sender": "\(sender.rawValue)", "http.status": "\(status)", "hook.reason": "\(reason)"])
    }

    private func unauthorized(_ sender: WebhookSender) -> Response {
        metrics.delivery(sender: sender.rawValue, result: "unauthorized")
        logRefusal(sender, status: 401, reason: "the signature or token is missing or wrong")
        let hint: String
        if configHolder.current.trust.isUnconfigured {
            hint = "no webhook secret is configured: set server.webhook_secret (or a project's webhook_secret)"
        } else {
            hint = "check the secret token configured for this hook against server.webhook_secret or the project's"
        }
        return JSONResponse.make(["error": "the webhook's signature or token is missing or wrong", "hint": hint], status: .unauthorized)
    }

    private func describe(_ error: Error) -> String {
        userMessage(error)
    }
}

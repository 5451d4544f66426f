import Foundation
import GobayCore
import HTTPTypes
import Hummingbird

/// Deployments in the JSON API: `POST /projects/{name}/deployments` queues one, `GET
/// /deployments[?project=P]` lists them, `GET /deployments/{id}` shows one with its targets, and
/// `GET /deployments/{id}/log[?follow=1]` its log (server-sent events while it runs).
struct DeploymentController: Sendable {
    let configHolder: ConfigHolder
    let database: AppDatabase
    let deployments: DeployService?
    let watcher: BuildDirectoryWatcher?
    let auth: RequestAuthorization

    /// The body of `POST /projects/{name}/deployments`; empty: the newest successful build to
    /// every target.
    struct Body: Decodable {
        static let keys: Set<String> = ["build", "targets"]
        var build: Int64?
        var targets: [String]?
    }

    var endpoints: RouteCollection<BasicRequestContext> {
        let api = RouteCollection(context: BasicRequestContext.self)
        api.post("projects/:name/deployments") { request, context in
            try auth.authorize(request, write: true)
            guard let deployments else {
                throw APIError(.serviceUnavailable, "this server does not deploy", hint: "use gobay deploy")
            }
            let name = context.parameters.get("name") ?? ""
            let data = Data(buffer: try await request.body.collect(upTo: 64 * 1024))
            if let key = DuplicateJSONKey.find(in: data) { throw DuplicateJSONKey.refusal(key) }
            if !data.isEmpty, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let unknown = object.keys.sorted().first(where: { !Body.keys.contains($0) })
            {
                throw APIError(.badRequest, "unknown field \"\(unknown)\" in the body", hint: "the fields are build, targets")
            }
            let body: Body
            do {
                body = data.isEmpty ? Body() : try JSONDecoder().decode(Body.self, from: data)
            } catch {
                throw APIError(.badRequest, "the body is not JSON like {\"build\": 12, \"targets\": [\"web-1\"]}")
            }
            do {
                let record = try await BlockingWork.run("gobay-deploy-plan") {
                    try deployments.request(project: name, build: body.build, targets: body.targets, trigger: "api")
                }
                return JSONResponse.make(record, status: .accepted)
            } catch let error as any UserFacingError {
                throw APIError(error)
            }
        }
        api.get("deployments") { request, _ in
            try auth.authorize(request, write: false)
            let project = request.uri.queryParameters["project"].map(String.init)
            let limit = request.uri.queryParameters["limit"].flatMap { Int($0) } ?? 50
            guard (1...500).contains(limit) else { throw APIError(.badRequest, "limit must be 1 to 500") }
            let records = try database.deployments(project: project, limit: limit)
            return JSONResponse.make(records)
        }
        api.get("deployments/:id") { request, context in
            try auth.authorize(request, write: false)
            return JSONResponse.make(try deployment(context))
        }
        api.get("deployments/:id/log") { request, context in
            try auth.authorize(request, write: false)
            let record = try deployment(context)
            let path = configHolder.current.config.data.deploymentLog(record.id)
            if request.uri.queryParameters["follow"].map({ $0 == "1" || $0 == "true" }) == true {
                let (database, id) = (self.database, record.id)
                return LogFollower(watcher: watcher, id: id, path: path) {
                    (try? database.deployment(id)).flatMap { $0 }.map {
                        LogFollower.State(status: $0.status.rawValue, isFinal: $0.status.isFinal, queued: $0.status == .queued)
                    }
                }.response()
            }
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        return api
    }

    private func deployment(_ context: BasicRequestContext) throws -> DeploymentRecord {
        let raw = context.parameters.get("id") ?? ""
        guard let id = Int64(raw) else { throw APIError(.badRequest, "\"\(raw)\" is not a deployment id") }
        guard let record = try database.deployment(id) else {
            throw APIError(.notFound, "deployment #\(id) does not exist", hint: "GET /api/v1/deployments lists them")
        }
        return record
    }
}

import Foundation
import GobayCore
import HTTPTypes
import Hummingbird

/// The JSON API under `/api/v1`: projects, environments, builds, logs and artifacts.
struct APIController: Sendable {
    let configHolder: ConfigHolder
    let database: AppDatabase
    let scheduler: Scheduler
    let watcher: BuildDirectoryWatcher?
    let auth: RequestAuthorization

    /// The config in force for this request.
    var config: GobayConfig { configHolder.current.config }

    struct ProjectInfo: Codable {
        var name: String
        var repo: String
        var branch: String?
        var environment: String?
        var mode: String
        var branches: [String]
        var tags: Bool
    }

    /// The answer to `POST /builds/{id}/cancel`; `id` is a number like everywhere else.
    struct CancelAnswer: Encodable {
        var id: Int64
        var result: String
    }

    struct TriggerBody: Decodable {
        /// The keys a trigger body may have; any other is refused by name.
        static let keys: Set<String> = ["ref", "commit", "environment"]
        var ref: String?
        var commit: String?
        var environment: String?
    }

    /// The answer to `GET /config`: which gobay.yml is in force.
    struct ConfigAnswer: Encodable {
        var path: String
        var hash: String
        var loadedAt: String
        var projects: [String]

        enum CodingKeys: String, CodingKey {
            case path, hash, projects
            case loadedAt = "loaded_at"
        }
    }

    /// The routes, to be added at `/api/v1`.
    var endpoints: RouteCollection<BasicRequestContext> {
        let api = RouteCollection(context: BasicRequestContext.self)
        api.get("projects") { request, _ in
            try authorize(request, write: false)
            return JSONResponse.make(config.projects.map { p in
                ProjectInfo(
                    name: p.name, repo: SecretMask.urlPasswords(p.repo), branch: p.branch, environment: p.environment, mode: p.mode.rawValue,
                    branches: p.branches, tags: p.tags)
            })
        }
        api.get("config") { request, _ in
            try authorize(request, write: false)
            let loaded = configHolder.current
            return JSONResponse.make(
                ConfigAnswer(
                    path: loaded.config.path, hash: loaded.hash, loadedAt: Timestamp.string(loaded.loadedAt),
                    projects: loaded.config.projects.map(\.name)))
        }
        api.get("environments") { request, _ in
            try authorize(request, write: false)
            return JSONResponse.make(try await environments())
        }
        api.get("builds") { request, _ in
            try authorize(request, write: false)
            return try await listBuilds(request)
        }
        api.get("builds/:id") { request, context in
            try authorize(request, write: false)
            return JSONResponse.make(try await build(context))
        }
        api.post("projects/:name/builds") { request, context in
            try authorize(request, write: true)
            return try await trigger(request, context)
        }
        api.post("builds/:id/cancel") { request, context in
            try authorize(request, write: true)
            let record = try await build(context)
            guard !record.status.isFinal else {
                throw APIError(.conflict, "build #\(record.id) already ended \(record.status.rawValue)")
            }
            guard try await scheduler.cancel(record.id) else {
                throw APIError(
                    .conflict, "build #\(record.id) is not run by this server",
                    hint: "it was started by `gobay build`; stop that process instead")
            }
            return JSONResponse.make(CancelAnswer(id: record.id, result: "cancel requested"), status: .accepted)
        }
        api.get("builds/:id/log") { request, context in
            try authorize(request, write: false)
            let record = try await build(context)
            let path = config.data.build(record.id).log
            if request.uri.queryParameters["follow"].map({ $0 == "1" || $0 == "true" }) == true {
                var follower = LogFollower(database: database, watcher: watcher, buildID: record.id, path: path)
                // `offset`: from that byte on (the dashboard shows the tail, then follows from its end).
                if let raw = request.uri.queryParameters["offset"] {
                    guard let offset = UInt64(raw) else { throw APIError(.badRequest, "offset must be a byte offset") }
                    follower.start = offset
                }
                return follower.response()
            }
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        api.get("builds/:id/artifacts/:name") { request, context in
            try authorize(request, write: false)
            let record = try await build(context)
            let name = context.parameters.get("name") ?? ""
            guard let artifact = record.artifacts.first(where: { $0.name == name }),
                let data = ArtifactStore.contents(dataDir: config.dataDir, buildID: record.id, path: artifact.path)
            else {
                throw APIError(
                    .notFound, "build #\(record.id) has no artifact \"\(name)\"",
                    hint: "artifacts: \(record.artifacts.map(\.name).joined(separator: ", "))")
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/octet-stream"
            headers[.contentLength] = String(data.count)
            headers[.contentDisposition] = "attachment; filename=\"\(artifact.name)\""
            if let name = HTTPField.Name("X-Checksum-Sha256") { headers[name] = artifact.sha256 }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(data: data)))
        }
        return api
    }

    private func authorize(_ request: Request, write: Bool) throws { try auth.authorize(request, write: write) }

    private func build(_ context: BasicRequestContext) async throws -> BuildRecord {
        let raw = context.parameters.get("id") ?? ""
        guard let id = Int64(raw) else { throw APIError(.badRequest, "\"\(raw)\" is not a build id") }
        guard let record = try await database.build(id) else {
            throw APIError(.notFound, "no build #\(id)", hint: "GET /api/v1/builds lists them")
        }
        return record
    }

    private func listBuilds(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let project = query["project"].map(String.init)
        if let project { _ = try mapped { try config.project(project) } }
        var status: BuildStatus?
        if let raw = query["status"] {
            guard let s = BuildStatus(rawValue: String(raw)) else {
                throw APIError(.badRequest, "unknown status \"\(raw)\"", hint: BuildStatus.allCases.map(\.rawValue).joined(separator: ", "))
            }
            status = s
        }
        var limit = 50
        if let raw = query["limit"] {
            guard let n = Int(raw), (1...500).contains(n) else { throw APIError(.badRequest, "limit must be 1 to 500") }
            limit = n
        }
        var before: Int64?
        if let raw = query["before"] {
            guard let n = Int64(raw) else { throw APIError(.badRequest, "before must be a build id") }
            before = n
        }
        let builds = try await database.builds(project: project, status: status, before: before, limit: limit)
        return JSONResponse.make(builds)
    }

    private func trigger(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let config = config
        let name = context.parameters.get("name") ?? ""
        let project = try mapped { try config.project(name) }
        let data = Data(buffer: try await request.body.collect(upTo: 64 * 1024))
        if let key = DuplicateJSONKey.find(in: data) { throw DuplicateJSONKey.refusal(key) }
        let body: TriggerBody
        do {
            body = data.isEmpty ? TriggerBody() : try JSONDecoder().decode(TriggerBody.self, from: data)
        } catch {
            throw APIError(.badRequest, "the body is not JSON like {\"ref\": \"main\"} or {\"commit\": \"<sha>\"}")
        }
        if !data.isEmpty, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            if let unknown = object.keys.sorted().first(where: { !TriggerBody.keys.contains($0) }) {
                throw APIError(
                    .badRequest, "unknown field \"\(unknown)\" in the body",
                    hint: "the fields are \(TriggerBody.keys.sorted().joined(separator: ", "))")
            }
        }
        if let ref = body.ref { try mapped { try GitRef.validate(ref) } }
        if let commit = body.commit, !GitRef.isCommitID(commit) {
            throw APIError(.badRequest, "\"\(commit)\" is not a commit id", hint: "pass a hex commit id")
        }
        if let env = body.environment { _ = try mapped { try config.environment(env) } }
        let record = try await Self.queue(
            project, ref: body.ref, commit: body.commit, environment: body.environment, config: config, database: database,
            scheduler: scheduler)
        return JSONResponse.make(record, status: .accepted)
    }

    /// Queues a build of `project` as the API does (the dashboard's Build and Rebuild too): the
    /// ref (by default the project's branch) or commit must name a commit of the repository.
    static func queue(
        _ project: ProjectConfig, ref: String?, commit: String?, environment: String?, config: GobayConfig,
        database: AppDatabase, scheduler: Scheduler
    ) async throws -> BuildRecord {
        let mirror = GitMirror(url: project.repo, dataDir: config.dataDir)
        let ref = ref ?? project.branch ?? mirror.headFileBranch() ?? "HEAD"
        try await resolve(mirror: mirror, ref: ref, commit: commit, dataDir: config.dataDir)
        let queued = try await database.enqueue(
            AppDatabase.Enqueue(
                project: project.name, ref: ref, commit: commit, environment: environment, trigger: .api,
                coalesce: false, notBefore: nil))
        scheduler.wake()
        guard let record = try await database.build(queued.id) else { throw APIError(.internalServerError, "build vanished") }
        return record
    }

    /// Fetches the mirror and checks that `ref` (or `commit`, when given) names a commit, as
    /// `gobay build` does before it runs anything: 422 when it does not, 502 when the repository
    /// cannot be fetched, 503 (through `StorageFailureMiddleware`) when the data dir's disk is full.
    private static func resolve(mirror: GitMirror, ref: String, commit: String?, dataDir: String) async throws {
        do {
            try await BlockingWork.run("gobay-resolve") {
                try mirror.update()
                if let commit {
                    _ = try mirror.resolve(commit: commit)
                } else {
                    _ = try mirror.resolve(ref: ref)
                }
            }
        } catch let error as any UserFacingError {
            // A full data dir is the storage middleware's 503 with Retry-After, not the repository's fault.
            if error.exitCode == 1 && DiskSpace.isFull(at: dataDir) { throw POSIXError(.ENOSPC) }
            throw APIError(error)
        }
    }

    private func environments() async throws -> [EnvironmentStatus] {
        try await Self.environments(config: config, database: database)
    }

    /// Every environment with its queued and running builds, counted in one indexed query.
    static func environments(config: GobayConfig, database: AppDatabase) async throws -> [EnvironmentStatus] {
        var fixed: [String: String] = [:]
        for project in config.projects { if let env = project.environment { fixed[project.name] = env } }
        let counts = try await database.activeCounts(projectEnvironments: fixed)
        return config.environments.map { env in
            var status = EnvironmentStatus(env, in: config)
            status.env = nil
            status.queued = counts[env.name]?.queued ?? 0
            status.running = counts[env.name]?.running ?? 0
            return status
        }
    }

    private func mapped<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as any UserFacingError {
            throw APIError(error)
        }
    }
}

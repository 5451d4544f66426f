import Foundation
import GobayCore
import HTTPTypes
import Hummingbird
import Mustache

/// The dashboard at `/`: server-rendered pages (overview, projects, a project, a build, the
/// deployments), a login that turns an API token into a session, and the forms that act (build,
/// cancel, rebuild, deploy, roll back), each with the session's CSRF token. Reading follows
/// `public_read` (or a session, or an API token); acting needs a session.
struct DashboardController: Sendable {
    let parts: RouterParts
    let sessions: DashboardSessions
    let library: MustacheLibrary

    init(parts: RouterParts, sessions: DashboardSessions) throws {
        self.parts = parts
        self.sessions = sessions
        library = try DashboardTemplates.library()
    }

    /// Who is asking, and what they may do.
    struct Viewer {
        var session: DashboardSessions.Session?
        var canRead: Bool
        /// The request's path and query, percent-encoded for a `next=` parameter.
        var path: String
        var flash: String?
    }

    func register(on router: Router<BasicRequestContext>) {
        router.get("/") { request, _ in try await read(request) { try await overview($0) } }
        router.get("/projects") { request, _ in try await read(request) { try await projects($0, request) } }
        router.get("/projects/:name") { request, context in
            try await read(request) { try await project($0, request, name: context.parameters.get("name") ?? "") }
        }
        router.get("/builds/:id") { request, context in
            try await read(request) { try await build($0, id: context.parameters.get("id") ?? "") }
        }
        router.get("/deployments") { request, _ in try await read(request) { try await deployments($0) } }
        router.get("/login") { request, _ in loginPage(request, failed: nil, status: .ok) }
        router.post("/login") { request, _ in try await login(request) }
        router.post("/logout") { request, _ in
            try await act(request) { session, _ in
                sessions.remove(session.id)
                return redirect("/", cookie: DashboardSessions.expiredCookie(secure: secure))
            }
        }
        router.post("/projects/:name/build") { request, context in
            try await act(request) { _, form in
                let config = parts.config.current.config
                let project = try config.project(context.parameters.get("name") ?? "")
                let ref = form["ref"].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
                if let ref { try GitRef.validate(ref) }
                let record = try await APIController.queue(
                    project, ref: ref, commit: nil, environment: nil, config: config, database: parts.database,
                    scheduler: parts.scheduler)
                return redirect(DashboardURL.build(record.id))
            }
        }
        router.post("/builds/:id/cancel") { request, context in
            try await act(request) { _, _ in
                let record = try await buildRecord(context.parameters.get("id") ?? "")
                guard !record.status.isFinal else { return redirect(DashboardURL.build(record.id) + "?done=ended") }
                guard try await parts.scheduler.cancel(record.id) else {
                    throw GobayError(
                        "build #\(record.id) is not run by this server", hint: "it was started by `gobay build`; stop that process")
                }
                return redirect(DashboardURL.build(record.id) + "?done=cancel")
            }
        }
        router.post("/builds/:id/rebuild") { request, context in
            try await act(request) { _, _ in
                let record = try await buildRecord(context.parameters.get("id") ?? "")
                let config = parts.config.current.config
                let project = try config.project(record.project)
                let record2 = try await APIController.queue(
                    project, ref: record.ref, commit: record.commit.isEmpty ? nil : record.commit,
                    environment: nil, config: config, database: parts.database, scheduler: parts.scheduler)
                return redirect(DashboardURL.build(record2.id))
            }
        }
        router.post("/builds/:id/deploy") { request, context in
            try await act(request) { _, _ in
                let record = try await buildRecord(context.parameters.get("id") ?? "")
                guard let service = parts.deployments else { throw GobayError("this server does not deploy") }
                try await BlockingWork.run("gobay-deploy-request") {
                    _ = try service.request(project: record.project, build: record.id, targets: nil, trigger: "dashboard")
                }
                return redirect(DashboardURL.deployments + "?done=deploy")
            }
        }
        router.post("/deployments/rollback") { request, _ in
            try await act(request) { _, form in
                guard let service = parts.deployments else { throw GobayError("this server does not deploy") }
                guard let project = form["project"], let target = form["target"], let build = form["build"].flatMap(Int64.init)
                else { throw GobayError("the rollback form needs project, target and build") }
                try await BlockingWork.run("gobay-deploy-request") {
                    _ = try service.request(project: project, build: build, targets: [target], trigger: "rollback")
                }
                return redirect(DashboardURL.deployments + "?done=rollback")
            }
        }
        router.get("/static/:file") { request, context in staticFile(request, name: context.parameters.get("file") ?? "") }
    }

    // MARK: - pages

    private func overview(_ viewer: Viewer) async throws -> Response {
        let config = parts.config.current.config
        let now = Date()
        let statuses = try await APIController.environments(config: config, database: parts.database)
        let environments = statuses.map { status -> DashboardViews.Environment in
            let layout = config.data.environmentLayout(status.name)
            let libraries = config.libraries.filter { $0.lists(status.name, in: config) }.compactMap { lib in
                LibraryCheckout(library: lib, environment: layout).state().map {
                    DashboardViews.Library(name: lib.name, commit: String($0.commit.prefix(12)))
                }
            }
            return DashboardViews.Environment(
                name: status.name, go: status.goVersion ?? status.go, executor: status.executor, busy: status.busySlots,
                concurrency: status.concurrency, queued: status.queued ?? 0, running: status.running ?? 0,
                libraries: libraries, error: status.error)
        }
        let queued = try await parts.database.builds(status: .queued, limit: 50)
        let superseded = try await parts.database.builds(status: .superseded, limit: 10)
        let latest = try await parts.database.builds(limit: 25)
        return render(
            "overview",
            DashboardViews.Overview(
                common: common("Overview", viewer), environments: environments,
                queue: DashboardViews.Rows(rows: (queued + superseded).map { DashboardViews.BuildRow($0, now: now) }),
                latest: DashboardViews.Rows(rows: latest.map { DashboardViews.BuildRow($0, now: now) })))
    }

    private func projects(_ viewer: Viewer, _ request: Request) async throws -> Response {
        let config = parts.config.current.config
        let now = Date()
        let query = request.uri.queryParameters["q"].map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
        let wanted = request.uri.queryParameters["status"].map(String.init) ?? ""
        let chosen = config.projects.filter { query.isEmpty || $0.name.localizedCaseInsensitiveContains(query) }
        // The branches each project watches by name (globs match too many to list), else its newest build.
        let branches = chosen.map { project -> [String?] in
            let named = ([project.branch].compactMap { $0 } + project.branches.filter { !$0.contains("*") && !$0.contains("?") })
            var seen: Set<String> = []
            let unique = named.filter { seen.insert($0).inserted }
            return unique.isEmpty ? [nil] : unique.map { $0 }
        }
        let pairs = zip(chosen, branches).flatMap { project, refs in refs.map { (project: project.name, ref: $0) } }
        let newest = try await parts.database.newestBuilds(pairs)
        let releases = Self.byTarget(try await parts.database.deployedReleases())
        var index = 0
        var rows: [DashboardViews.ProjectRow] = []
        for (project, refs) in zip(chosen, branches) {
            var cells: [DashboardViews.BranchBuild] = []
            for ref in refs {
                let build = newest[index]
                index += 1
                cells.append(
                    DashboardViews.BranchBuild(
                        ref: ref ?? build?.ref ?? "—", build: build.map { DashboardViews.BuildRow($0, now: now) }))
            }
            if !wanted.isEmpty && !cells.contains(where: { $0.build?.status == wanted }) { continue }
            let targets = (project.deploy?.targets ?? []).map { target in
                DashboardViews.TargetRelease(
                    target: target.name,
                    release: releases[Self.key(project.name, target.name)]?.release)
            }
            rows.append(
                DashboardViews.ProjectRow(
                    name: project.name, environment: project.environment ?? "from go.mod", branches: cells, targets: targets))
        }
        let options = [("", "any")] + BuildStatus.allCases.map { ($0.rawValue, $0.rawValue) }
        // A page of rows keeps a thousand projects' page small; the links keep the filter.
        let pageSize = 100
        let pages = max(1, (rows.count + pageSize - 1) / pageSize)
        let page = min(max(1, request.uri.queryParameters["page"].flatMap { Int(String($0)) } ?? 1), pages)
        func link(_ number: Int) -> String {
            var items = [URLQueryItem(name: "page", value: String(number))]
            if !query.isEmpty { items.append(URLQueryItem(name: "q", value: query)) }
            if !wanted.isEmpty { items.append(URLQueryItem(name: "status", value: wanted)) }
            var components = URLComponents()
            components.path = "/projects"
            components.queryItems = items
            return components.string ?? "/projects"
        }
        return render(
            "projects",
            DashboardViews.Projects(
                common: common("Projects", viewer), query: query,
                statuses: options.map { DashboardViews.Option(value: $0.0, label: $0.1, selected: $0.0 == wanted) },
                rows: Array(rows.dropFirst((page - 1) * pageSize).prefix(pageSize)), count: rows.count,
                page: page, pages: pages, previous: page > 1 ? link(page - 1) : nil,
                next: page < pages ? link(page + 1) : nil))
    }

    private func project(_ viewer: Viewer, _ request: Request, name: String) async throws -> Response {
        let config = parts.config.current.config
        guard let project = config.projects.first(where: { $0.name == name }) else {
            return message(viewer, status: .notFound, "No such project", "gobay.yml has no project \"\(name)\".")
        }
        let before = request.uri.queryParameters["before"].flatMap { Int64(String($0)) }
        let history = try await parts.database.builds(project: name, before: before, limit: 50)
        let releases = try await parts.database.deployedReleases().filter { $0.project == name }
        let now = Date()
        let targets = (project.deploy?.targets ?? []).map { target in
            DashboardViews.TargetRelease(target: target.name, release: releases.first { $0.target == target.name }?.release)
        }
        var branches = [project.branch].compactMap { $0 }
        for branch in project.branches where !branches.contains(branch) { branches.append(branch) }
        return render(
            "project",
            DashboardViews.Project(
                common: common(name, viewer), name: name, repo: SecretMask.urlPasswords(project.repo),
                environment: project.environment ?? "from go.mod", branches: branches,
                defaultRef: project.branch ?? "", hasTargets: !targets.isEmpty, targets: targets,
                history: DashboardViews.Rows(rows: history.map { DashboardViews.BuildRow($0, now: now) }),
                older: history.count == 50 ? history.last?.id : nil))
    }

    private func build(_ viewer: Viewer, id raw: String) async throws -> Response {
        guard let id = Int64(raw), let record = try await parts.database.build(id) else {
            return message(viewer, status: .notFound, "No such build", "There is no build #\(raw).")
        }
        let config = parts.config.current.config
        let tail = Self.tail(config.data.build(id).log)
        var common = common("Build #\(id)", viewer)
        common.refresh = !record.status.isFinal
        let tests = record.tests.map { t in
            "\(t.passed) passed, \(t.failed) failed, \(t.skipped) skipped"
                + (t.failedTests.isEmpty ? "" : ": " + t.failedTests.joined(separator: ", "))
        }
        let repo = config.projects.first(where: { $0.name == record.project })?.repo
        let message = try await BlockingWork.run("gobay-commit-subject") { [dataDir = config.dataDir, commit = record.commit] in
            repo.flatMap { GitMirror(url: $0, dataDir: dataDir).subject(commit) }
        }
        let deployable =
            record.status == .succeeded && parts.deployments != nil
            && config.projects.first(where: { $0.name == record.project })?.deploy != nil
        return render(
            "build",
            DashboardViews.Build(
                common: common, id: id, status: record.status.rawValue, project: record.project, ref: record.ref,
                commit: record.commit.isEmpty ? "(not resolved yet)" : record.commit, message: message,
                environment: record.environment ?? "(not planned yet)", goVersion: record.goVersion ?? "—",
                trigger: record.trigger.rawValue, created: Timestamp.string(record.createdAt),
                duration: record.duration.map(DashboardViews.duration) ?? "—", error: record.error, tests: tests,
                running: !record.status.isFinal, deployable: deployable,
                steps: record.steps.map { step in
                    DashboardViews.Step(
                        name: step.name, status: step.status.rawValue,
                        duration: DashboardViews.duration((step.finishedAt ?? Date()).timeIntervalSince(step.startedAt)))
                },
                hasLibraries: !(record.libraries ?? [:]).isEmpty,
                libraries: (record.libraries ?? [:]).sorted { $0.key < $1.key }.map {
                    DashboardViews.Library(name: $0.key, commit: $0.value)
                },
                artifacts: record.artifacts.map {
                    DashboardViews.Artifact(buildID: id, name: $0.name, size: DashboardViews.size($0.size), sha256: $0.sha256)
                },
                truncated: tail.truncated, shownLines: tail.lines.count, logLines: tail.lines, logOffset: tail.offset))
    }

    private func deployments(_ viewer: Viewer) async throws -> Response {
        let config = parts.config.current.config
        let now = Date()
        let releases = Self.byTarget(try await parts.database.deployedReleases())
        var current: [DashboardViews.CurrentRelease] = []
        for project in config.projects {
            for target in project.deploy?.targets ?? [] {
                let known = releases[Self.key(project.name, target.name)]
                current.append(
                    DashboardViews.CurrentRelease(
                        project: project.name, target: target.name, release: known?.release, previous: known?.previous))
            }
        }
        let history = try await BlockingWork.run("gobay-deployments") { [database = parts.database] in
            try database.deployments(limit: 50)
        }
        return render(
            "deployments",
            DashboardViews.Deployments(
                common: common("Deployments", viewer), current: current,
                history: history.map { d in
                    DashboardViews.Deployment(
                        id: d.id, status: d.status.rawValue, project: d.project, build: d.build, strategy: d.strategy.rawValue,
                        trigger: d.trigger,
                        targets: d.targets.map {
                            DashboardViews.DeploymentTarget(target: $0.target, status: $0.status.rawValue, error: $0.error)
                        },
                        age: DashboardViews.age(d.createdAt, now: now))
                }))
    }

    /// What each target runs, by project and target: one lookup per row, not a scan.
    static func byTarget(_ releases: [DeployedRelease]) -> [String: DeployedRelease] {
        Dictionary(releases.map { (key($0.project, $0.target), $0) }, uniquingKeysWith: { first, _ in first })
    }

    static func key(_ project: String, _ target: String) -> String { project + "\u{0}" + target }

    // MARK: - login

    private func loginPage(_ request: Request, failed: String?, status: HTTPResponse.Status, next: String? = nil) -> Response {
        let next = Self.localPath(next ?? request.uri.queryParameters["next"].map(String.init)) ?? "/"
        var viewer = viewer(request)
        viewer.path = "/login"
        return render(
            "login",
            DashboardViews.Login(
                common: common("Log in", viewer), next: next, failed: failed, hours: Int(sessions.lifetime / 3600)),
            status: status)
    }

    private func login(_ request: Request) async throws -> Response {
        let form = try await Self.form(request)
        let loaded = parts.config.current
        guard let token = form["token"], let hash = loaded.tokenHash(token) else {
            return loginPage(
                request, failed: "That token is not one of server.tokens.", status: .unauthorized, next: form["next"])
        }
        let session = sessions.create(tokenHash: hash)
        return redirect(Self.localPath(form["next"]) ?? "/", cookie: sessions.cookie(for: session, secure: secure))
    }

    // MARK: - plumbing

    /// Whether the server is reached over https (its `public_url`): cookies get `Secure`.
    private var secure: Bool { parts.config.current.config.server.publicURL?.lowercased().hasPrefix("https://") ?? false }

    private func viewer(_ request: Request) -> Viewer {
        let loaded = parts.config.current
        let session = sessions.session(for: request, config: loaded)
        var canRead = loaded.config.server.publicRead || session != nil
        if !canRead, let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            canRead = loaded.isValidToken(String(header.dropFirst(7)))
        }
        let flash = request.uri.queryParameters["done"].flatMap { Self.flashes[String($0)] }
        return Viewer(session: session, canRead: canRead, path: Self.encoded(request.uri.description), flash: flash)
    }

    /// Messages a redirect may ask for by name (never text from the query).
    static let flashes = [
        "cancel": "Cancel requested.", "ended": "That build had already ended.", "deploy": "Deployment queued.",
        "rollback": "Rollback queued.",
    ]

    private func common(_ title: String, _ viewer: Viewer) -> DashboardViews.Common {
        DashboardViews.Common(
            title: title, loggedIn: viewer.session != nil, csrf: viewer.session?.csrf ?? "", flash: viewer.flash,
            path: viewer.path)
    }

    /// A page for readers: without the right to read, the login page.
    private func read(_ request: Request, _ body: (Viewer) async throws -> Response) async throws -> Response {
        let viewer = viewer(request)
        guard viewer.canRead else { return redirect("/login?next=" + viewer.path) }
        do {
            return try await body(viewer)
        } catch let error as any UserFacingError {
            return message(viewer, status: .badRequest, "That did not work", error.message)
        }
    }

    /// A form that changes something: a session and its CSRF token, or nothing happens.
    private func act(
        _ request: Request, _ body: (DashboardSessions.Session, [String: String]) async throws -> Response
    ) async throws -> Response {
        let viewer = viewer(request)
        guard let session = viewer.session else { return redirect("/login") }
        let form = try await Self.form(request)
        guard let csrf = form["csrf"], ConstantTime.equal(Array(csrf.utf8), Array(session.csrf.utf8)) else {
            return message(
                viewer, status: .forbidden, "Refused",
                "The form did not carry this session's CSRF token. Reload the page and try again.")
        }
        do {
            return try await body(session, form)
        } catch let error as APIError {
            return message(viewer, status: error.status, "That did not work", error.message)
        } catch let error as any UserFacingError {
            return message(viewer, status: .unprocessableContent, "That did not work", error.message)
        }
    }

    private func buildRecord(_ raw: String) async throws -> BuildRecord {
        guard let id = Int64(raw), let record = try await parts.database.build(id) else {
            throw GobayError("there is no build #\(raw)")
        }
        return record
    }

    private func message(
        _ viewer: Viewer, status: HTTPResponse.Status, _ heading: String, _ text: String
    ) -> Response {
        render(
            "message",
            DashboardViews.Message(
                common: common(heading, viewer), heading: heading, text: SecretMask.urlPasswords(text), link: "/",
                linkText: "Overview"),
            status: status)
    }

    private func render(_ template: String, _ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        guard let html = library.render(object, withTemplate: template) else {
            return Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "no template \(template)\n")))
        }
        var headers = Self.securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        // Pages carry a session's CSRF token: never stored by a cache.
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// No inline script or style runs (the pages have none), no framing, no other origin's forms.
    static let securityHeaders: HTTPFields = {
        var headers = HTTPFields()
        headers[.contentSecurityPolicy] =
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        headers[.xContentTypeOptions] = "nosniff"
        if let name = HTTPField.Name("Referrer-Policy") { headers[name] = "same-origin" }
        return headers
    }()

    private func redirect(_ location: String, cookie: String? = nil) -> Response {
        var headers = Self.securityHeaders
        headers[.location] = location
        if let cookie { headers[.setCookie] = cookie }
        return Response(status: .seeOther, headers: headers)
    }

    private func staticFile(_ request: Request, name: String) -> Response {
        guard let asset = DashboardAssets.files[name] else {
            return Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: "no such file\n")))
        }
        var headers = Self.securityHeaders
        headers[.eTag] = asset.etag
        headers[.cacheControl] = "public, max-age=300"
        if request.headers[values: .ifNoneMatch].contains(where: { $0.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == asset.etag } }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: asset.body)))
    }

    /// `next` when it is a path on this server (not `//host` or a URL), else nil.
    static func localPath(_ next: String?) -> String? {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"),
            !next.unicodeScalars.contains(where: { $0.value < 0x20 })
        else { return nil }
        return next
    }

    static func encoded(_ path: String) -> String {
        path.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-._~"))) ?? "/"
    }

    /// An `application/x-www-form-urlencoded` body (64 KB at most) as fields; the first of a
    /// repeated name wins.
    static func form(_ request: Request) async throws -> [String: String] {
        let body = try await request.body.collect(upTo: 64 * 1024)
        return formFields(String(buffer: body))
    }

    static func formFields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String? {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            }
            guard let name = parts.first.flatMap(decode) else { continue }
            let value = parts.count > 1 ? decode(parts[1]) ?? "" : ""
            if fields[name] == nil { fields[name] = value }
        }
        return fields
    }

    /// The end of a log: its last complete lines (at most `maxLines`, from its last `maxBytes`),
    /// whether that is not all of it, and the byte offset after the last line shown (where a
    /// live follower goes on).
    static func tail(_ path: String, maxBytes: UInt64 = 512 * 1024, maxLines: Int = 2_000) -> (
        lines: [String], truncated: Bool, offset: UInt64
    ) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return ([], false, 0) }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return ([], false, 0) }
        let start = size > maxBytes ? size - maxBytes : 0
        guard (try? handle.seek(toOffset: start)) != nil, let data = try? handle.read(upToCount: Int(size - start)) else {
            return ([], false, 0)
        }
        var bytes = data[...]
        // Only whole lines: what follows the last newline is still being written.
        guard let lastNewline = bytes.lastIndex(of: 0x0A) else { return ([], start > 0, start) }
        let offset = start + UInt64(lastNewline - data.startIndex + 1)
        bytes = bytes[..<lastNewline]
        if start > 0, let first = bytes.firstIndex(of: 0x0A) { bytes = bytes[(first + 1)...] }
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        let truncated = start > 0 || lines.count > maxLines
        if lines.count > maxLines { lines.removeFirst(lines.count - maxLines) }
        return (lines, truncated, offset)
    }
}

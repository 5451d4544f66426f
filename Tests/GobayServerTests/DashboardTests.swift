import Foundation
import GobayCore
import GobayTesting
import HTTPTypes
import Hummingbird
import NIOCore
import Testing

@testable import GobayServer

/// The dashboard over HTTP against a real `gobay serve`: who may read and act, CSRF, sessions
/// that end, values from outside shown as text, valid HTML, cached static files.
@Suite("dashboard: pages, login, CSRF, escaping")
struct DashboardTests {
    static let hostileBranch = "x<script>alert(1)</script>"
    static let hostileMessage = "<script>alert(\"msg\")</script> & fix"

    /// The session cookie and the CSRF token of a logged-in browser.
    struct Login {
        var cookie: String
        var csrf: String
        var headers: [String: String] { ["Cookie": cookie] }
    }

    func login(_ server: ServerHarness, token: String = ServerWorld.token) throws -> Login {
        let reply = server.send(
            "POST", "/login", headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: Data("token=\(token)&next=%2Fprojects".utf8))
        #expect(reply.status == 303 && reply.headers["location"] == "/projects", "\(reply.status) \(reply.text)")
        let setCookie = try #require(reply.headers["set-cookie"])
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && !setCookie.contains("Secure"))
        let cookie = String(setCookie.split(separator: ";")[0])
        let page = server.send("GET", "/", headers: ["Cookie": cookie])
        let csrf = try #require(Self.csrf(in: page.text), "\(page.text)")
        return Login(cookie: cookie, csrf: csrf)
    }

    static func csrf(in html: String) -> String? {
        guard let range = html.range(of: #"name="csrf" value=""#) else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    func form(_ fields: [String: String]) -> Data {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        return Data(
            fields.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
                .joined(separator: "&").utf8)
    }

    @Test func readActAndLeaveWithCSRFAndHostileValuesShownAsText() throws {
        let sw = try ServerWorld(label: "dashboard")
        let modern = sw.world.modern
        try Git.run(["-C", modern.path, "checkout", "-q", "-b", Self.hostileBranch])
        let hostileCommit = try modern.commit(["note.txt": "x\n"], message: Self.hostileMessage)
        try Git.run(["-C", modern.path, "checkout", "-q", "main"])
        let server = try sw.start()

        // Without public_read, every page sends a stranger to the login page; a POST too.
        for path in ["/", "/projects", "/projects/modern-svc", "/builds/1", "/deployments"] {
            let reply = server.send("GET", path)
            #expect(reply.status == 303 && reply.headers["location"]?.hasPrefix("/login?next=") == true, "\(path)")
        }
        let anonymous = server.send(
            "POST", "/projects/modern-svc/build", headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: form(["ref": "main", "csrf": "guess"]))
        #expect(anonymous.status == 303 && anonymous.headers["location"] == "/login")
        let wrong = server.send(
            "POST", "/login", headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: form(["token": "not-the-token"]))
        #expect(wrong.status == 401 && wrong.headers["set-cookie"] == nil && wrong.text.contains("not one of server.tokens"))

        let session = try login(server)
        let formHeaders = session.headers.merging(["Content-Type": "application/x-www-form-urlencoded"]) { $1 }
        // A session without its CSRF token changes nothing.
        let forged = server.send(
            "POST", "/projects/modern-svc/build", headers: formHeaders, body: form(["ref": Self.hostileBranch]))
        #expect(forged.status == 403, "\(forged.status)")
        let otherToken = server.send(
            "POST", "/projects/modern-svc/build", headers: formHeaders,
            body: form(["ref": Self.hostileBranch, "csrf": String(repeating: "0", count: 64)]))
        #expect(otherToken.status == 403)
        #expect(sw.builds(server).isEmpty, "a refused form queued a build")

        // The Build button, on the hostile branch: the build page shows the branch, the commit
        // message and the log line as text.
        let queued = server.send(
            "POST", "/projects/modern-svc/build", headers: formHeaders,
            body: form(["ref": Self.hostileBranch, "csrf": session.csrf]))
        #expect(queued.status == 303, "\(queued.text)")
        let location = try #require(queued.headers["location"])
        let id = try #require(Int64(location.replacingOccurrences(of: "/builds/", with: "")))
        let done = server.waitForBuild(id, token: ServerWorld.token)
        #expect(done?["status"] as? String == "succeeded", "\(String(describing: done))")
        #expect(done?["commit"] as? String == hostileCommit)
        let page = server.send("GET", location, headers: session.headers).text
        #expect(page.contains("x&lt;script&gt;alert(1)&lt;/script&gt;"), "\(page)")
        #expect(page.contains("&lt;script&gt;alert(&quot;msg&quot;)&lt;/script&gt; &amp; fix"))
        #expect(!page.contains("<script>alert"), "a value reached the page unescaped")
        #expect(page.contains("[gobay] build #\(id): modern-svc x&lt;script&gt;"), "the log line")
        #expect(page.contains(#"data-build="\#(id)""#) && !page.contains("data-follow"), "an ended build is not followed")

        // Every page is valid HTML and holds no secret.
        for path in ["/", "/projects", "/projects?q=modern&status=succeeded", "/projects/modern-svc", location, "/deployments", "/login"] {
            let reply = server.send("GET", path, headers: session.headers)
            #expect(reply.status == 200, "\(path): \(reply.status)")
            #expect(reply.headers["content-security-policy"]?.contains("script-src 'self'") == true)
            #expect(reply.headers["cache-control"] == "no-store")
            #expect(!reply.text.contains(ServerWorld.token) && !reply.text.contains("project-secret"), "\(path)")
            #expect(!reply.text.contains("global-secret") && !reply.text.contains(ServerWorld.gitlabToken), "\(path)")
            #expect(reply.body.count < 100_000, "\(path) is \(reply.body.count) bytes")
            if let problems = try Self.tidyErrors(reply.text) { #expect(problems.isEmpty, "\(path): \(problems)") }
        }
        let projects = server.send("GET", "/projects?q=modern", headers: session.headers).text
        #expect(projects.contains("/projects/modern-svc") && !projects.contains("/projects/legacy-svc"))
        let paged = server.send("GET", "/projects?page=9", headers: session.headers).text
        #expect(paged.contains("3 projects; page 1 of 1") && !paged.contains("rel=\"next\""), "\(paged)")

        // Reads through the API work with the session (the page's live log and artifacts);
        // changes through the API do not (a cookie would make them forgeable).
        #expect(server.send("GET", "/api/v1/builds/\(id)/log", headers: session.headers).status == 200)
        #expect(server.send("POST", "/api/v1/projects/modern-svc/builds", headers: session.headers).status == 401)

        // Rebuild, then log out: the old session can no longer act, nor read.
        let rebuilt = server.send(
            "POST", "/builds/\(id)/rebuild", headers: formHeaders, body: form(["csrf": session.csrf]))
        #expect(rebuilt.status == 303 && rebuilt.headers["location"] != location, "\(rebuilt.text)")
        let out = server.send("POST", "/logout", headers: formHeaders, body: form(["csrf": session.csrf]))
        #expect(out.status == 303 && out.headers["set-cookie"]?.contains("Max-Age=0") == true)
        let after = server.send(
            "POST", "/builds/\(id)/rebuild", headers: formHeaders, body: form(["csrf": session.csrf]))
        #expect(after.status == 303 && after.headers["location"] == "/login")
        #expect(server.send("GET", "/", headers: session.headers).status == 303)
    }

    /// Static files carry an ETag and answer 304 to it; public_read opens the pages to all,
    /// still without the buttons; an https public_url makes the cookie Secure.
    @Test func staticFilesPublicReadAndSecureCookies() throws {
        let sw = try ServerWorld(label: "dashboard-public", server: "  public_read: true\n  public_url: https://ci.example.com\n")
        let server = try sw.start()
        for file in ["gobay.css", "gobay.js"] {
            let first = server.send("GET", "/static/\(file)")
            let etag = try #require(first.headers["etag"])
            #expect(first.status == 200 && first.headers["cache-control"]?.contains("max-age") == true)
            #expect(server.send("GET", "/static/\(file)", headers: ["If-None-Match": etag]).status == 304)
        }
        #expect(server.send("GET", "/static/../gobay.yml").status == 404)
        let overview = server.send("GET", "/")
        #expect(overview.status == 200 && overview.text.contains("<h1>Overview</h1>"))
        #expect(!overview.text.contains("name=\"csrf\""), "a reader without a session sees no form that acts")
        let reply = server.send(
            "POST", "/login", headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: Data("token=\(ServerWorld.token)&next=https%3A%2F%2Fevil.example".utf8))
        #expect(reply.status == 303 && reply.headers["location"] == "/", "an outside next= is not followed")
        #expect(reply.headers["set-cookie"]?.contains("; Secure") == true)
    }

    /// No template renders a value unescaped.
    @Test func templatesEscapeEverything() throws {
        for (name, text) in DashboardTemplates.sources {
            #expect(!text.contains("{{{") && !text.contains("{{&"), "\(name)")
        }
        _ = try DashboardTemplates.library()
        #expect(DashboardController.localPath("/builds/1") == "/builds/1")
        for bad in ["//evil.example/x", "https://evil.example", "/\\evil", "x", "/a\nb"] {
            #expect(DashboardController.localPath(bad) == nil, "\(bad)")
        }
        #expect(DashboardController.formFields("a=1&b=x+y%26z&a=2&c") == ["a": "1", "b": "x y&z", "c": ""])
    }

    /// The end of a long log: whole lines only, and the offset after the last one.
    @Test func logTailShowsTheLastLines() throws {
        let sandbox = try TestSandbox("dashboard-tail")
        let lines = (1...100_000).map { "line \($0)" }
        let path = try sandbox.write("log", lines.joined(separator: "\n") + "\npartial")
        let tail = DashboardController.tail(path)
        #expect(tail.truncated && tail.lines.count == 2_000 && tail.lines.last == "line 100000")
        #expect(tail.lines.first == "line 98001")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber).uint64Value
        #expect(tail.offset == size - UInt64("partial".utf8.count))
        let short = try sandbox.write("short", "a\nb\n")
        let whole = DashboardController.tail(short)
        #expect(!whole.truncated && whole.lines == ["a", "b"] && whole.offset == 4)
    }

    /// `tidy -errors` on `html`: its complaints, or nil when tidy is not installed.
    static func tidyErrors(_ html: String) throws -> String? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tidy") else { return nil }
        let sandbox = try TestSandbox("tidy")
        let path = try sandbox.write("page.html", html)
        let result = try ProcessRunner.capture(
            ProcessSpec(["/usr/bin/tidy", "-errors", "-quiet", path], environment: ["PATH": "/usr/bin:/bin"]))
        return (result.stdout + result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A running build's page follows its log with the script, and reloads itself without it.
    @Test func aRunningBuildsPageRefreshesItselfWithoutJavaScript() throws {
        let library = try DashboardTemplates.library()
        func page(running: Bool) -> String {
            var common = DashboardViews.Common(title: "Build #7", loggedIn: true, csrf: "c", path: "/builds/7")
            common.refresh = running
            let build = DashboardViews.Build(
                common: common, id: 7, status: running ? "running" : "succeeded", project: "p", ref: "main",
                commit: "abc", message: nil, environment: "modern", goVersion: "1.22.10", trigger: "api", created: "now",
                duration: "1s", error: nil, tests: nil, running: running, deployable: false, steps: [], hasLibraries: false,
                libraries: [], artifacts: [], truncated: false, shownLines: 1, logLines: ["line"], logOffset: 5)
            return library.render(build, withTemplate: "build") ?? ""
        }
        let running = page(running: true)
        #expect(running.contains(#"<noscript><meta http-equiv="refresh" content="5"></noscript>"#))
        #expect(running.contains(#"data-offset="5" data-follow"#) && running.contains("/builds/7/cancel"))
        let ended = page(running: false)
        #expect(!ended.contains("http-equiv") && !ended.contains("data-follow") && !ended.contains("/cancel"))
    }

    /// Sessions end when they expire, when their token leaves the config, and on log out; the
    /// oldest go first when there are too many.
    @Test func sessionsEnd() throws {
        let token = "dashboard-token"
        let hash = FileDigest.sha256(data: Data(token.utf8))
        func loaded(_ tokens: String) throws -> LoadedConfig {
            let yaml = "data_dir: /tmp/none\nenvironments: {}\nprojects: {}\nserver:\n  tokens: [\(tokens)]\n"
            return try LoadedConfig(config: ConfigLoader.parse(yaml, path: "gobay.yml"), hash: "h", environment: [:])
        }
        let config = try loaded("\"sha256:\(hash)\"")
        let other = try loaded("\"sha256:\(String(repeating: "0", count: 64))\"")
        let sessions = DashboardSessions(lifetime: 60, capacity: 2)
        let start = Date()
        let tokenHash = try #require(config.tokenHash(token))
        #expect(config.tokenHash("wrong") == nil)
        let first = sessions.create(tokenHash: tokenHash, now: start)
        func request(_ id: String) -> Request {
            var head = HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/")
            head.headerFields[.cookie] = "theme=dark; \(DashboardSessions.cookieName)=\(id)"
            return Request(head: head, body: .init(buffer: ByteBuffer()))
        }
        #expect(sessions.session(for: request(first.id), config: config, now: start)?.csrf == first.csrf)
        #expect(sessions.session(for: request(first.id), config: other, now: start) == nil, "its token left the config")
        #expect(sessions.session(for: request(first.id), config: config, now: start) == nil, "a session ended stays ended")
        let second = sessions.create(tokenHash: tokenHash, now: start)
        #expect(sessions.session(for: request(second.id), config: config, now: start.addingTimeInterval(61)) == nil)
        let a = sessions.create(tokenHash: tokenHash, now: start)
        let b = sessions.create(tokenHash: tokenHash, now: start.addingTimeInterval(1))
        let c = sessions.create(tokenHash: tokenHash, now: start.addingTimeInterval(2))
        #expect(sessions.session(for: request(a.id), config: config, now: start.addingTimeInterval(3)) == nil, "the oldest went")
        #expect(sessions.session(for: request(b.id), config: config, now: start.addingTimeInterval(3)) != nil)
        sessions.remove(c.id)
        #expect(sessions.session(for: request(c.id), config: config, now: start.addingTimeInterval(3)) == nil)
        #expect(first.id.count == 64 && first.csrf.count == 64 && first.id != first.csrf)
        #expect(sessions.cookie(for: first, secure: true).contains("; Secure"))
    }
}

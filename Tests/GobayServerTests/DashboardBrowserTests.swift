import Foundation
import GobayCore
import GobayTesting
import Testing

/// The dashboard in a real headless Chromium against a real `gobay serve` with real builds: log
/// in, build with the button and watch the log arrive live, cancel from the page, read without
/// JavaScript, and a hostile branch name that stays text. Screenshots go to
/// `$GOBAY_TEST_SCREENSHOTS` (else the test's sandbox) at desktop and phone widths.
@Suite("dashboard: in a real browser", .serialized, .enabled(if: Browser.isAvailable, "needs Debian's chromium-driver"))
struct DashboardBrowserTests {
    /// A test that prints a line every 150 ms for about 6 s, so the log grows while the page is open.
    static let tickingTest = """
        package main

        import (
        \t"fmt"
        \t"testing"
        \t"time"
        )

        func TestTicks(t *testing.T) {
        \tfor i := 0; i < 40; i++ {
        \t\tfmt.Printf("tick %d\\n", i)
        \t\ttime.Sleep(150 * time.Millisecond)
        \t}
        }

        """

    static let hangingTest = """
        package main

        import (
        \t"testing"
        \t"time"
        )

        func TestHang(t *testing.T) { time.Sleep(5 * time.Minute) }

        """

    /// A branch name HTML would run if it were not escaped (git allows every character of it).
    static let hostileBranch = "<img/src=x/onerror=window.gobayXSS=1>"

    func screenshotDir(_ sandbox: TestSandbox) -> String {
        ProcessInfo.processInfo.environment["GOBAY_TEST_SCREENSHOTS"] ?? sandbox.path + "/screenshots"
    }

    func logIn(_ browser: Browser, _ server: ServerHarness, next: String) throws {
        try browser.open(server.baseURL + next)
        try browser.waitUntil("the login page") { try browser.currentURL.contains("/login") }
        try browser.find(css: "input[name=token]").sendKeys(ServerWorld.token)
        try browser.find(css: "form[action='/login'] button").click()
        try browser.waitUntil("the page after the login") { try !browser.currentURL.contains("/login") }
    }

    @Test func buildWatchCancelAndReadWithoutJavaScript() throws {
        let sw = try ServerWorld(label: "dashboard-browser", modern: "    test: true\n")
        let modern = sw.world.modern
        try modern.commit(["ticks_test.go": Self.tickingTest], message: "a test that ticks")
        for (branch, files) in [
            ("broken", ["main.go": "package main\n\nfunc main() { undefined() }\n"]),
            ("hang", ["hang_test.go": Self.hangingTest]),
            (Self.hostileBranch, ["note.txt": "x\n"]),
        ] {
            try Git.run(["-C", modern.path, "checkout", "-q", "-b", branch])
            try modern.commit(files, message: "on \(branch)")
            try Git.run(["-C", modern.path, "checkout", "-q", "main"])
        }
        let server = try sw.start()
        let shots = screenshotDir(sw.world.sandbox)
        let browser = try Browser()
        defer { browser.close() }

        // Not logged in: the login page, then back where we were going.
        try logIn(browser, server, next: "/projects/modern-svc")
        #expect(try browser.currentURL.hasSuffix("/projects/modern-svc"))
        #expect(try browser.cookies().contains { $0.name == "gobay_session" && $0.httpOnly })

        // The Build button: the build's page, where the log arrives live and the status turns
        // final, with no reload (a mark set on the window survives).
        let ref = try browser.find(css: "input[name=ref]")
        try ref.clear()
        try ref.sendKeys("main")
        try browser.find(css: "form[action='/projects/modern-svc/build'] button").click()
        try browser.waitUntil("the build's page") { try browser.currentURL.contains("/builds/") }
        _ = try browser.executeScript("window.gobayMark = 'no reload'; return true")
        try browser.waitUntil("ticks in the live log", timeout: 180) {
            try browser.find(css: "pre.log").text.contains("tick 5")
        }
        try browser.saveScreenshot(to: shots + "/build-running-desktop.png")
        try browser.setWindowSize(width: 390, height: 844)
        try browser.saveScreenshot(to: shots + "/build-running-phone.png")
        try browser.setWindowSize(width: 1280, height: 900)
        try browser.waitUntil("the final status", timeout: 180) {
            try browser.find(css: "#build-status").text == "succeeded"
        }
        #expect(try browser.executeScript("return window.gobayMark") == "no reload", "the page reloaded")
        // The record and the steps followed too, and the Cancel button went.
        try browser.waitUntil("the record to show the commit and the steps", timeout: 60) {
            let steps = try browser.find(css: "#steps").text
            return try !browser.find(css: "#record").text.contains("not resolved") && steps.contains("artifacts")
        }
        // Read inside waits: the live page may still replace these nodes while they are read.
        try browser.waitUntil("the Cancel button to go", timeout: 60) {
            try browser.findAll(css: "#actions form[action$='/cancel']").allSatisfy { try !$0.isDisplayed }
        }
        var log = ""
        try browser.waitUntil("the whole log", timeout: 60) {
            log = try browser.find(css: "pre.log").text
            return log.contains("tick 39") && log.contains("build #") && log.contains("succeeded")
        }
        try browser.saveScreenshot(to: shots + "/build.png")

        // A failed build, the overview and the project, at both widths.
        let failed = try #require(
            server.send(
                "POST", "/api/v1/projects/modern-svc/builds", headers: sw.auth.merging(["Content-Type": "application/json"]) { $1 },
                body: Data(#"{"ref": "broken"}"#.utf8)
            ).json?["id"] as? Int)
        #expect(server.waitForBuild(Int64(failed), token: ServerWorld.token)?["status"] as? String == "failed")
        for (page, name) in [("/builds/\(failed)", "build-failed"), ("/", "overview"), ("/projects/modern-svc", "project")] {
            try browser.open(server.baseURL + page)
            try browser.waitUntil("\(page)") { try browser.find(css: "h1").isDisplayed }
            try browser.saveScreenshot(to: shots + "/\(name)-desktop.png")
            try browser.setWindowSize(width: 390, height: 844)
            try browser.saveScreenshot(to: shots + "/\(name)-phone.png")
            try browser.setWindowSize(width: 1280, height: 900)
        }

        // Cancel from the page: a build whose test sleeps for five minutes ends canceled.
        let hanging = try #require(
            server.send(
                "POST", "/api/v1/projects/modern-svc/builds", headers: sw.auth.merging(["Content-Type": "application/json"]) { $1 },
                body: Data(#"{"ref": "hang"}"#.utf8)
            ).json?["id"] as? Int)
        try browser.open(server.baseURL + "/builds/\(hanging)")
        try browser.waitUntil("the hanging test to start", timeout: 180) {
            try browser.find(css: "pre.log").text.contains("$ go test")
        }
        try browser.find(css: "form[action='/builds/\(hanging)/cancel'] button").click()
        try browser.waitUntil("the canceled status", timeout: 180) {
            try browser.find(css: "#build-status").text == "canceled"
        }

        // A hostile branch name is shown as text and never runs.
        let hostile = try #require(
            server.send(
                "POST", "/api/v1/projects/modern-svc/builds", headers: sw.auth.merging(["Content-Type": "application/json"]) { $1 },
                body: try JSONSerialization.data(withJSONObject: ["ref": Self.hostileBranch])
            ).json?["id"] as? Int)
        _ = server.waitForBuild(Int64(hostile), token: ServerWorld.token)
        for page in ["/builds/\(hostile)", "/", "/projects/modern-svc"] {
            try browser.open(server.baseURL + page)
            try browser.waitUntil("\(page)") { try browser.find(css: "h1").isDisplayed }
            #expect(try browser.executeScript("return window.gobayXSS === undefined") == true, "\(page) ran the branch name")
            #expect(try browser.find(css: "main").text.contains(Self.hostileBranch), "\(page)")
            #expect(try browser.findAll(css: "main img").isEmpty, "\(page) made an element of the branch name")
        }

        // Log out: the session ends, and the pages ask for a login again.
        try browser.find(css: "form[action='/logout'] button").click()
        try browser.open(server.baseURL + "/")
        try browser.waitUntil("the login page after logging out") { try browser.currentURL.contains("/login") }

        // Without JavaScript: the finished log is on the page, and a running build's page
        // reloads itself.
        let plain = try Browser(.init(javaScript: false))
        defer { plain.close() }
        try logIn(plain, server, next: "/builds/\(failed)")
        let text = try plain.find(css: "pre.log").text
        #expect(text.contains("build #\(failed) failed"), "\(text.suffix(400))")
        #expect(try plain.find(css: "#build-status").text == "failed")
        try plain.saveScreenshot(to: shots + "/build-failed-nojs.png")
    }
}

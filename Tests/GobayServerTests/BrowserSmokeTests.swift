import Foundation
import GobayCore
import GobayTesting
import Testing

/// A real headless Chromium (through chromedriver) against a tiny static site: scripts on and off,
/// a GET form, screenshots at desktop and phone widths, and nothing left running afterwards.
@Suite(
    "browser: a real headless Chromium drives a static page",
    .enabled(
        if: Browser.isAvailable,
        "/usr/bin/chromedriver is missing (CI installs it: apt-get install chromium chromium-driver)"),
    .serialized, .timeLimit(.minutes(10)))
struct BrowserSmokeTests {
    @Test func titleAndAButtonThatRunsJavaScript() throws {
        let site = try StaticSite()
        let browser = try Browser()
        try browser.open(site.url("/index.html"))
        #expect(try browser.title == "gobay smoke")
        #expect(try browser.currentURL == site.url("/index.html"))
        #expect(try browser.pageSource.contains("id=\"change\""))
        #expect(try browser.findAll(css: "button").count == 2)
        // With scripts on, <noscript> holds raw text, not elements.
        #expect(try browser.findAll(css: "#noscript").isEmpty)

        let status = try browser.find(css: "#status")
        #expect(try status.text == "waiting")
        try browser.find(css: "#change").click()
        try browser.waitUntil("the button's script to change the text") { try status.text == "changed by JavaScript" }
        #expect(try browser.find(css: "#change").attribute("data-role") == "changer")
        #expect(try browser.find(css: "#change").attribute("data-missing") == nil)

        #expect(try browser.executeScript("return [arguments[0] * 2, document.title]", [21]) == [42, "gobay smoke"])
        #expect(try browser.executeScript("return window.scriptRan") == true)
        #expect(try browser.executeScript("return arguments[0].id", [status.reference]) == "status")

        let missing = #expect(throws: Browser.WebDriverError.self) { try browser.find(css: "#missing") }
        #expect(missing?.error == "no such element")
        #expect(missing?.message.hasPrefix("POST /element: no such element:") == true, "\(String(describing: missing))")

        try browser.addCookie(Browser.Cookie(name: "gobay_session", value: "abc123"))
        #expect(try browser.cookies().map { [$0.name, $0.value] } == [["gobay_session", "abc123"]])
        try browser.deleteAllCookies()
        #expect(try browser.cookies().isEmpty)

        let closed = "http://127.0.0.1:\(try DeployTarget.freeLoopbackPort())/"
        let refused = #expect(throws: Browser.WebDriverError.self) { try browser.open(closed) }
        #expect(refused?.message == "POST /url: unknown error: net::ERR_CONNECTION_REFUSED")
        try expectNothingLeft(browser)
    }

    @Test func withJavaScriptOffTheNoscriptTextShowsAndTheButtonDoesNothing() throws {
        let site = try StaticSite()
        let browser = try Browser(.init(javaScript: false))
        try browser.open(site.url("/index.html"))
        #expect(try browser.title == "gobay smoke")
        let noscript = try browser.find(css: "#noscript")
        #expect(try noscript.isDisplayed)
        #expect(try noscript.text == "JavaScript is off")
        // The page's own script never ran; WebDriver's scripts still do.
        #expect(try browser.executeScript("return typeof window.scriptRan") == "undefined")
        try browser.find(css: "#change").click()
        #expect(try browser.find(css: "#status").text == "waiting")
        try expectNothingLeft(browser)
    }

    @Test func typingAndSubmittingAGetFormNavigates() throws {
        let site = try StaticSite()
        let browser = try Browser()
        try browser.open(site.url("/index.html"))
        let query = try browser.find(css: "#query")
        try query.sendKeys("draft")
        #expect(try query.property("value") == "draft")
        try query.clear()
        #expect(try query.property("value") == "")
        try query.sendKeys("hello gobay & co")
        try browser.find(css: "#submit").click()
        let expected = site.url("/results.html?q=hello+gobay+%26+co")
        try browser.waitUntil("the form to load \(expected)") { try browser.currentURL == expected }
        try browser.waitUntil("the results page") { try browser.title == "results" }

        // Enter in the input submits too.
        try browser.open(site.url("/index.html"))
        try browser.find(css: "#query").sendKeys("enter" + Browser.Key.enter)
        try browser.waitUntil("Enter to submit the form") {
            try browser.currentURL == site.url("/results.html?q=enter")
        }
        try expectNothingLeft(browser)
    }

    @Test func screenshotsAreDesktopAndPhoneWidePNGs() throws {
        let site = try StaticSite()
        let sandbox = try TestSandbox("browser-shots")
        let browser = try Browser(.init(width: 1280, height: 900))
        try browser.open(site.url("/index.html"))
        let desktop = try browser.screenshot()
        #expect(Array(desktop.prefix(8)) == Browser.pngSignature)
        #expect(Browser.pngSize(desktop)?.width == 1280)
        #expect(Browser.pngSize(desktop)?.height == 900)
        #expect(try browser.executeScript("return innerWidth") == 1280)

        try browser.setWindowSize(width: 390, height: 844)
        let phone = try browser.screenshot()
        #expect(Array(phone.prefix(8)) == Browser.pngSignature)
        #expect(Browser.pngSize(phone)?.width == 390)
        #expect(try browser.executeScript("return matchMedia('(max-width: 400px)').matches") == true)
        // The size lasts across navigations.
        try browser.open(site.url("/results.html"))
        let path = sandbox.path + "/shots/phone.png"
        try browser.saveScreenshot(to: path)
        let saved = try #require(FileManager.default.contents(atPath: path))
        #expect(Browser.pngSize(saved)?.width == 390)
        try expectNothingLeft(browser)
    }

    /// Closes the browser and checks that chromedriver and every Chromium process are gone.
    func expectNothingLeft(_ browser: Browser) throws {
        #expect(!browser.livingProcesses.isEmpty, "the browser should be running now")
        browser.close()
        #expect(browser.livingProcesses == [])
        #expect(kill(browser.driver.pid, 0) != 0)
        let afterClose = #expect(throws: GobayError.self) { try browser.title }
        #expect(afterClose?.message.contains("the browser is closed") == true)
    }
}

/// A throwaway static site: `python3 -m http.server` on a free loopback port, serving a temp dir.
final class StaticSite: Sendable {
    let sandbox: TestSandbox
    let process: ChildProcess
    let port: Int

    init() throws {
        sandbox = try TestSandbox("site")
        try sandbox.write("www/index.html", Self.index)
        try sandbox.write(
            "www/results.html", "<!doctype html><html><head><title>results</title></head><body>results</body></html>\n")
        // With port 0 the kernel picks one, and python prints which.
        (process, port) = try LoopbackProcess.start(
            ProcessSpec(
                [
                    "python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory",
                    sandbox.path + "/www",
                ],
                environment: ProcessInfo.processInfo.environment),
            logPrefix: sandbox.path + "/server", what: "the static site", timeout: 60
        ) { log in
            guard let range = log.range(of: "127.0.0.1 port ") else { return nil }
            return Int(log[range.upperBound...].prefix { $0.isNumber })
        }
    }

    deinit {
        process.signalGroup(SIGKILL)
        process.wait(timeout: 10)
    }

    /// `http://127.0.0.1:PORT` + `path`.
    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    static let index = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>gobay smoke</title>
        </head>
        <body>
        <h1>Smoke</h1>
        <p id="status">waiting</p>
        <button id="change" type="button" data-role="changer">Change</button>
        <noscript><p id="noscript">JavaScript is off</p></noscript>
        <form action="/results.html" method="get">
          <input id="query" name="q" type="text">
          <button id="submit" type="submit">Search</button>
        </form>
        <script>
          window.scriptRan = true;
          document.getElementById("change").addEventListener("click", function () {
            document.getElementById("status").textContent = "changed by JavaScript";
          });
        </script>
        </body>
        </html>

        """
}

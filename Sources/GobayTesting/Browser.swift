import Foundation
import GobayCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real headless Chromium for dashboard tests, driven over the W3C WebDriver protocol (HTTP and
/// JSON) through a chromedriver of its own on a loopback port. Every call waits for its answer,
/// like `HTTPTestClient`'s.
///
/// chromedriver runs in a process group of its own, and every Chromium process it starts stays in
/// that group; Chromium's crash handlers leave the group but keep an environment marker. `close()`,
/// also run when the browser is released, kills both and waits until none is left. If the test
/// process dies first, the kernel closes its end of a lifeline socket and a watcher inside the group
/// kills the group (the crash handlers then exit on their own once the browser is gone).
public final class Browser: Sendable {
    /// Where Debian's chromium-driver package installs chromedriver.
    public static let chromedriverPath = "/usr/bin/chromedriver"

    /// Whether chromedriver is installed; tests that need a browser are skipped without it.
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: chromedriverPath) }

    /// How to start the browser.
    public struct Options: Sendable {
        /// The chromedriver binary.
        public var chromedriver = Browser.chromedriverPath
        /// The Chromium binary. Debian's /usr/bin/chromium is a shell wrapper that adds flags from
        /// /etc/chromium.d (extensions, API keys); the binary behind it starts the same everywhere.
        public var chromium: String =
            FileManager.default.isExecutableFile(atPath: "/usr/lib/chromium/chromium")
            ? "/usr/lib/chromium/chromium" : "/usr/bin/chromium"
        /// The viewport's width in CSS pixels.
        public var width: Int
        /// The viewport's height in CSS pixels.
        public var height: Int
        /// Whether pages may run scripts; `executeScript` and `find` work either way.
        public var javaScript: Bool
        /// More Chromium switches.
        public var extraArguments: [String]
        /// How long one command (a page load included) may take before it fails.
        public var commandTimeout: TimeInterval = 120
        /// How long chromedriver may take to start listening.
        public var startTimeout: TimeInterval = 60

        /// Options for a browser of `width`×`height` CSS pixels, with or without JavaScript.
        public init(width: Int = 1280, height: Int = 900, javaScript: Bool = true, extraArguments: [String] = []) {
            self.width = width
            self.height = height
            self.javaScript = javaScript
            self.extraArguments = extraArguments
        }
    }

    /// The options it was started with.
    public let options: Options
    /// chromedriver; its pid is the process group of every Chromium process.
    public let driver: ChildProcess
    /// chromedriver's port on 127.0.0.1.
    public let port: Int
    /// The WebDriver session's id.
    public let sessionID: String
    /// Holds the profile (user-data-dir), HOME, TMPDIR and chromedriver's output and log.
    public let sandbox: TestSandbox
    /// An environment entry every process of this browser starts with.
    private let marker: String
    /// Our end of the lifeline; -1 once closed.
    private let lifeline: Mutex<Int32>

    /// Starts chromedriver and a headless Chromium session.
    public init(_ options: Options = Options()) throws {
        guard FileManager.default.isExecutableFile(atPath: options.chromedriver) else {
            throw GobayError.failure(
                "chromedriver is not installed at \(options.chromedriver)",
                hint: "install Debian's chromium and chromium-driver packages")
        }
        self.options = options
        sandbox = try TestSandbox("browser")
        for dir in ["profile", "home", "tmp"] {
            try FileManager.default.createDirectory(atPath: sandbox.path + "/" + dir, withIntermediateDirectories: true)
        }
        let marker = "GOBAY_TEST_BROWSER=\(UUID().uuidString)"
        self.marker = marker
        // A socket pair rather than a pipe: Glibc's module has no pipe2, and both ends must be
        // close-on-exec from the start so no other child of the test process keeps the lifeline open.
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw GobayError.failure("cannot make the browser's lifeline: \(String(cString: strerror(errno)))")
        }
        // chromedriver picks a free port itself (--port=0) and says which.
        var spec = ProcessSpec(
            [
                "/bin/sh", "-c", Self.lifelineScript, "gobay-browser", options.chromedriver, "--port=0",
                "--log-path=\(sandbox.path)/chromedriver.log",
            ],
            environment: Self.environment(sandbox.path, marker: marker))
        spec.descriptors = [ends[0]]
        do {
            defer { Glibc.close(ends[0]) }
            (driver, port) = try LoopbackProcess.start(
                spec, logPrefix: sandbox.path + "/chromedriver", what: "chromedriver", timeout: options.startTimeout
            ) { log in
                guard let range = log.range(of: "was started successfully on port ") else { return nil }
                return Int(log[range.upperBound...].prefix { $0.isNumber })
            }
        } catch {
            Glibc.close(ends[1])
            throw error
        }
        lifeline = Mutex(ends[1])
        do {
            sessionID = try Self.startSession(port: port, options: options, profile: sandbox.path + "/profile")
        } catch {
            Self.terminate(driver, marker: marker)
            Glibc.close(ends[1])
            let log = (try? String(contentsOfFile: sandbox.path + "/chromedriver.log", encoding: .utf8)) ?? ""
            throw GobayError.failure(
                "Chromium did not start: \(userMessage(error))", hint: "chromedriver's log ends: \(log.suffix(3000))")
        }
        do {
            try setWindowSize(width: options.width, height: options.height)
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Kills chromedriver and every process of the browser, waits until none is left and removes
    /// the profile. Idempotent; every command fails afterwards.
    public func close() {
        let fd = lifeline.withLock { fd in
            defer { fd = -1 }
            return fd
        }
        guard fd >= 0 else { return }
        Self.terminate(driver, marker: marker)
        Glibc.close(fd)
        try? FileManager.default.removeItem(atPath: sandbox.path + "/profile")
    }

    /// The browser's living processes: chromedriver's group and whatever carries its marker
    /// (empty once closed).
    public var livingProcesses: [pid_t] {
        Set(ProcessRunner.livingMembers(ofGroup: driver.pid) + ProcessRunner.processes(withEnvironmentEntry: marker))
            .sorted()
    }

    /// Loads `url` and waits until the page has loaded; a refused connection fails with
    /// "unknown error: net::ERR_CONNECTION_REFUSED".
    public func open(_ url: String) throws { try command("POST", "/url", ["url": .string(url)]) }

    /// The URL of the page.
    public var currentURL: String { get throws { try command("GET", "/url").text("the current URL") } }

    /// The page's title.
    public var title: String { get throws { try command("GET", "/title").text("the title") } }

    /// The page's DOM serialized as HTML.
    public var pageSource: String { get throws { try command("GET", "/source").text("the page source") } }

    /// The first element matching the CSS `selector`; fails with "no such element" when none does.
    public func find(css selector: String) throws -> Element {
        try Element(
            browser: self, try command("POST", "/element", ["using": "css selector", "value": .string(selector)]))
    }

    /// Every element matching the CSS `selector`, in document order (empty when none does).
    public func findAll(css selector: String) throws -> [Element] {
        let found = try command("POST", "/elements", ["using": "css selector", "value": .string(selector)])
        return try (found.array ?? []).map { try Element(browser: self, $0) }
    }

    /// Runs `script` as the body of a function in the page and returns what it returns; the script
    /// reads `arguments` as `arguments[0]`, … (an element's `reference` hands the element over).
    /// It runs even when the page may not run scripts.
    @discardableResult
    public func executeScript(_ script: String, _ arguments: [JSON] = []) throws -> JSON {
        try command("POST", "/execute/sync", ["script": .string(script), "args": .array(arguments)])
    }

    /// Makes the viewport exactly `width`×`height` CSS pixels at scale 1 (screenshots have that
    /// size). Headless Chromium keeps its window at least 500 pixels wide and its viewport shorter
    /// than the window, so the size is set as a device-metrics override, which lasts across
    /// navigations of this tab.
    public func setWindowSize(width: Int, height: Int) throws {
        let (width, height) = (JSON.number(Double(width)), JSON.number(Double(height)))
        try command("POST", "/window/rect", ["width": width, "height": height])
        let metrics: JSON = ["width": width, "height": height, "deviceScaleFactor": 1, "mobile": false]
        try command("POST", "/goog/cdp/execute", ["cmd": "Emulation.setDeviceMetricsOverride", "params": metrics])
    }

    /// A PNG of the viewport.
    public func screenshot() throws -> Data {
        let encoded = try command("GET", "/screenshot").text("a screenshot")
        guard let png = Data(base64Encoded: encoded) else {
            throw GobayError.failure("chromedriver sent a screenshot that is not base64")
        }
        return png
    }

    /// Writes a PNG of the viewport to `path`, making its directory.
    public func saveScreenshot(to path: String) throws {
        let png = try screenshot()
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try png.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Checks `condition` every `interval` seconds until it holds; fails naming `what` when
    /// `timeout` passes first. A check that fails because an element is missing or was replaced
    /// counts as "not yet"; any other failure ends the wait.
    public func waitUntil(
        _ what: String = "the condition", timeout: TimeInterval = 90, interval: TimeInterval = 0.2,
        _ condition: () throws -> Bool
    ) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var lastError: WebDriverError?
        while true {
            do {
                if try condition() { return }
                lastError = nil
            } catch let error as WebDriverError where error.meansNotYet {
                lastError = error
            }
            if Date() >= deadline { break }
            usleep(UInt32(max(0.01, interval) * 1_000_000))
        }
        let url = (try? currentURL) ?? "an unknown page"
        throw GobayError.failure(
            "the browser waited \(Int(timeout)) s for \(what) on \(url)",
            hint: lastError.map { "the last check failed: \($0.message)" })
    }

    /// The cookies the current page sees.
    public func cookies() throws -> [Cookie] {
        try (command("GET", "/cookie").array ?? []).compactMap(Cookie.init)
    }

    /// Sets a cookie for the current page's domain.
    public func addCookie(_ cookie: Cookie) throws { try command("POST", "/cookie", ["cookie": cookie.json]) }

    /// Deletes every cookie the current page sees.
    public func deleteAllCookies() throws { try command("DELETE", "/cookie") }

    /// The width and height in a PNG's header, or nil when `data` is not a PNG.
    public static func pngSize(_ data: Data) -> (width: Int, height: Int)? {
        let bytes = [UInt8](data.prefix(24))
        guard bytes.count == 24, bytes.prefix(8).elementsEqual(pngSignature), bytes[12..<16].elementsEqual("IHDR".utf8)
        else { return nil }
        func number(at offset: Int) -> Int { bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (number(at: 16), number(at: 20))
    }

    /// The eight bytes every PNG starts with.
    public static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Sends one command of this session and returns the answer's `value`.
    @discardableResult
    func command(_ method: String, _ path: String, _ body: JSON? = nil) throws -> JSON {
        guard lifeline.withLock({ $0 >= 0 }) else {
            throw GobayError.failure("\(method) \(path): the browser is closed")
        }
        return try Self.send(
            method, port: port, path: "/session/\(sessionID)" + path, body: body ?? (method == "POST" ? [:] : nil),
            timeout: options.commandTimeout + 30)
    }
}

/// Starting and stopping the processes.
extension Browser {
    /// Runs chromedriver (the arguments) in place of the shell, next to a watcher that kills the
    /// whole group once descriptor 3, the lifeline, reads end of file: the test process has exited.
    static let lifelineScript = #"(read -r _ <&3; kill -KILL 0) & exec "$@" 3<&-"#

    /// PATH, the marker, and a HOME and TMPDIR of its own; nothing else of the test's environment.
    static func environment(_ root: String, marker: String) -> [String: String] {
        let entry = marker.split(separator: "=", maxSplits: 1).map(String.init)
        let home = (root as NSString).appendingPathComponent("home")
        return [
            "PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": root + "/tmp", "LANG": "C.UTF-8",
            "XDG_CONFIG_HOME": home + "/.config", "XDG_CACHE_HOME": home + "/.cache", entry[0]: entry[1],
        ]
    }

    /// The Chromium switches for `options`.
    static func arguments(_ options: Options, profile: String) -> [String] {
        [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--window-size=\(options.width),\(options.height)", "--force-device-scale-factor=1",
            "--user-data-dir=\(profile)", "--no-first-run", "--no-default-browser-check",
        ] + (options.javaScript ? [] : ["--blink-settings=scriptEnabled=false"]) + options.extraArguments
    }

    /// Creates the session; returns its id.
    static func startSession(port: Int, options: Options, profile: String) throws -> String {
        let milliseconds = JSON.number(options.commandTimeout * 1000)
        let capabilities: JSON = [
            "browserName": "chrome",
            "timeouts": ["pageLoad": milliseconds, "script": milliseconds, "implicit": 0],
            "goog:chromeOptions": [
                "binary": .string(options.chromium),
                "args": .array(arguments(options, profile: profile).map(JSON.string)),
            ],
        ]
        let answer = try send(
            "POST", port: port, path: "/session", body: ["capabilities": ["alwaysMatch": capabilities]],
            timeout: options.commandTimeout + 30)
        guard let id = answer["sessionId"]?.string else {
            throw GobayError.failure("chromedriver's new session has no id: \(answer)")
        }
        return id
    }

    /// Kills chromedriver's group and the marked processes, and waits until none is left. The
    /// leader stays a zombie until `wait`, so its pid names no other group meanwhile.
    static func terminate(_ driver: ChildProcess, marker: String) {
        let deadline = Date().addingTimeInterval(10)
        repeat {
            driver.signalGroup(SIGKILL)
            if ProcessRunner.livingMembers(ofGroup: driver.pid).isEmpty { break }
            usleep(20_000)
        } while Date() < deadline
        driver.wait(timeout: 10)
        ProcessRunner.killProcesses(withEnvironmentEntry: marker)
    }

    /// Sends a WebDriver request to chromedriver and returns the answer's `value`, or throws the
    /// WebDriver error it names.
    static func send(_ method: String, port: Int, path: String, body: JSON?, timeout: TimeInterval) throws -> JSON {
        let command =
            "\(method) \(path.replacingOccurrences(of: #"^/session/[^/]+"#, with: "", options: .regularExpression))"
        let data = try body.map { try JSONEncoder().encode($0) }
        let reply = HTTPTestClient.send(
            method, "http://127.0.0.1:\(port)\(path)", headers: ["Content-Type": "application/json; charset=utf-8"],
            body: data, timeout: timeout)
        guard reply.status != 0 else {
            throw WebDriverError(
                command: command, error: "no answer", detail: "chromedriver did not answer within \(Int(timeout)) s")
        }
        let value = (try? JSONDecoder().decode(JSON.self, from: reply.body))?["value"]
        if reply.status != 200 || value?["error"] != nil {
            let error = value?["error"]?.string ?? "HTTP \(reply.status)"
            // chromedriver repeats the error's name, may give the cause on a "from …" line, and
            // ends with "(Session info: …)".
            var detail = (value?["message"]?.string ?? reply.text).split(separator: "\n")
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                    !$0.isEmpty && !$0.hasPrefix("(Session info")
                }
                .joined(separator: "; ")
            if detail == error { detail = "" }
            if detail.hasPrefix(error + ": ") || detail.hasPrefix(error + "; ") { detail.removeFirst(error.count + 2) }
            throw WebDriverError(command: command, error: error, detail: detail)
        }
        return value ?? .null
    }
}

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
        return [
            "PATH": "/usr/bin:/bin", "HOME": root + "/home", "TMPDIR": root + "/tmp", "LANG": "C.UTF-8",
            "XDG_CONFIG_HOME": root + "/home/.config", "XDG_CACHE_HOME": root + "/home/.cache", entry[0]: entry[1],
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

extension Browser {
    /// A command chromedriver refused or did not answer: the WebDriver error (e.g. "no such
    /// element") and its message.
    public struct WebDriverError: UserFacingError {
        /// The command without its session, e.g. "POST /element".
        public let command: String
        /// The WebDriver error code, e.g. "no such element" or "stale element reference".
        public let error: String
        /// chromedriver's message.
        public let detail: String

        /// `POST /element: no such element: Unable to locate element: …`.
        public var message: String { detail.isEmpty ? "\(command): \(error)" : "\(command): \(error): \(detail)" }
        /// What to try.
        public var hint: String? {
            switch error {
            case "no such element", "stale element reference":
                "the page may not have it yet; wait for it with waitUntil"
            case "no answer": "chromedriver may have died; see chromedriver.log in the browser's sandbox"
            default: nil
            }
        }
        /// A browser command that failed.
        public var kind: FailureKind { .failure }

        /// Whether waiting may cure it: the element is not there yet, or was replaced.
        var meansNotYet: Bool { ["no such element", "stale element reference", "no such frame"].contains(error) }
    }

    /// Names of special keys for `sendKeys`.
    public enum Key {
        /// The Enter key (submits a form from one of its inputs).
        public static let enter = "\u{E007}"
        /// The Tab key.
        public static let tab = "\u{E004}"
        /// The Backspace key.
        public static let backspace = "\u{E003}"
    }

    /// A cookie as WebDriver describes it.
    public struct Cookie: Sendable, Equatable {
        /// The name.
        public var name: String
        /// The value.
        public var value: String
        /// The path it is sent for.
        public var path: String?
        /// The domain it is sent to (nil: the current page's).
        public var domain: String?
        /// Whether it is sent over HTTPS only.
        public var secure: Bool
        /// Whether scripts cannot see it.
        public var httpOnly: Bool
        /// When it expires, in seconds since 1970 (nil: with the session).
        public var expiry: Int?

        /// A cookie named `name`.
        public init(
            name: String, value: String, path: String? = "/", domain: String? = nil, secure: Bool = false,
            httpOnly: Bool = false, expiry: Int? = nil
        ) {
            self.name = name
            self.value = value
            self.path = path
            self.domain = domain
            self.secure = secure
            self.httpOnly = httpOnly
            self.expiry = expiry
        }

        init?(_ json: JSON) {
            guard let name = json["name"]?.string, let value = json["value"]?.string else { return nil }
            self.init(
                name: name, value: value, path: json["path"]?.string, domain: json["domain"]?.string,
                secure: json["secure"]?.bool ?? false, httpOnly: json["httpOnly"]?.bool ?? false,
                expiry: json["expiry"]?.number.map { Int($0) })
        }

        var json: JSON {
            var fields: [String: JSON] = [
                "name": .string(name), "value": .string(value), "secure": .bool(secure), "httpOnly": .bool(httpOnly),
            ]
            if let path { fields["path"] = .string(path) }
            if let domain { fields["domain"] = .string(domain) }
            if let expiry { fields["expiry"] = .number(Double(expiry)) }
            return .object(fields)
        }
    }
}

extension Browser {
    /// An element of the page, as WebDriver knows it; stale once the page replaces it.
    public struct Element: Sendable {
        /// The browser it belongs to.
        public let browser: Browser
        /// WebDriver's id of the element.
        public let id: String

        /// The key under which WebDriver sends and takes element ids.
        static let key = "element-6066-11e4-a52e-4f735466cecf"

        init(browser: Browser, _ json: JSON) throws {
            guard let id = json[Self.key]?.string else {
                throw GobayError.failure("chromedriver sent \(json) where an element was expected")
            }
            self.browser = browser
            self.id = id
        }

        /// The element as an argument of `executeScript`.
        public var reference: JSON { [Self.key: .string(id)] }

        /// Its rendered text ("" when it is not displayed).
        public var text: String { get throws { try command("GET", "/text").text("an element's text") } }

        /// Whether it is displayed.
        public var isDisplayed: Bool {
            get throws { try command("GET", "/displayed").bool ?? false }
        }

        /// The value of its HTML attribute `name`, or nil when it has none.
        public func attribute(_ name: String) throws -> String? {
            try command("GET", "/attribute/" + Self.pathComponent(name)).string
        }

        /// The value of its DOM property `name` (such as an input's current `value`).
        public func property(_ name: String) throws -> JSON {
            try command("GET", "/property/" + Self.pathComponent(name))
        }

        /// Scrolls it into view and clicks its centre.
        public func click() throws { try command("POST", "/click") }

        /// Types `text` into it (see `Browser.Key` for special keys).
        public func sendKeys(_ text: String) throws { try command("POST", "/value", ["text": .string(text)]) }

        /// Empties an input or a textarea.
        public func clear() throws { try command("POST", "/clear") }

        @discardableResult
        func command(_ method: String, _ path: String, _ body: JSON? = nil) throws -> JSON {
            try browser.command(method, "/element/\(id)" + path, body)
        }

        static func pathComponent(_ name: String) -> String {
            name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? name
        }
    }

    /// A JSON value, as WebDriver sends and takes them.
    public enum JSON: Sendable, Equatable, Codable, CustomStringConvertible {
        /// null (and JavaScript's undefined).
        case null
        /// true or false.
        case bool(Bool)
        /// A number.
        case number(Double)
        /// A string.
        case string(String)
        /// An array.
        case array([JSON])
        /// An object.
        case object([String: JSON])

        /// The string, if it is one.
        public var string: String? { if case .string(let value) = self { value } else { nil } }
        /// The number, if it is one.
        public var number: Double? { if case .number(let value) = self { value } else { nil } }
        /// The boolean, if it is one.
        public var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
        /// The elements, if it is an array.
        public var array: [JSON]? { if case .array(let value) = self { value } else { nil } }
        /// The members, if it is an object.
        public var object: [String: JSON]? { if case .object(let value) = self { value } else { nil } }
        /// The member `key` of an object.
        public subscript(key: String) -> JSON? { object?[key] }
        /// The element at `index` of an array.
        public subscript(index: Int) -> JSON? { array.flatMap { $0.indices.contains(index) ? $0[index] : nil } }

        /// The value as JSON text.
        public var description: String {
            (try? JSONEncoder().encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
        }

        /// The string, or an error naming `what` was expected.
        func text(_ what: String) throws -> String {
            guard let string else { throw GobayError.failure("chromedriver sent \(self) as \(what)") }
            return string
        }

        /// Decodes any JSON value (booleans stay booleans: JSONDecoder reads no number as one).
        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else if let value = try? container.decode(String.self) {
                self = .string(value)
            } else if let value = try? container.decode([JSON].self) {
                self = .array(value)
            } else {
                self = .object(try container.decode([String: JSON].self))
            }
        }

        /// Encodes the value; whole numbers as integers, which chromedriver wants for sizes.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .null: try container.encodeNil()
            case .bool(let value): try container.encode(value)
            case .number(let value):
                if value.rounded() == value, abs(value) < 9e15 {
                    try container.encode(Int64(value))
                } else {
                    try container.encode(value)
                }
            case .string(let value): try container.encode(value)
            case .array(let value): try container.encode(value)
            case .object(let value): try container.encode(value)
            }
        }
    }
}

extension Browser.JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    /// A string.
    public init(stringLiteral value: String) { self = .string(value) }
    /// A number.
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    /// A number.
    public init(floatLiteral value: Double) { self = .number(value) }
    /// A boolean.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An array.
    public init(arrayLiteral elements: Browser.JSON...) { self = .array(elements) }
    /// An object.
    public init(dictionaryLiteral elements: (String, Browser.JSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

import Foundation
import GobayCore

/// A real `gobay serve` on a loopback port, started from the built binary with a test's config.
public final class ServerHarness: Sendable {
    /// The server process.
    public let process: ChildProcess
    /// Its port on 127.0.0.1.
    public let port: Int
    /// http://127.0.0.1:PORT
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts the server and waits until it listens; `environment` adds variables (secrets).
    public init(gobay: GobayBinary, logDir: String, environment: [String: String] = [:]) throws {
        var spec = gobay.spec(["serve", "--listen", "127.0.0.1:0"])
        for (key, value) in environment { spec.environment[key] = value }
        let stamp = UUID().uuidString.prefix(6)
        (process, port) = try LoopbackProcess.start(
            spec, logPrefix: "\(logDir)/serve-\(stamp)", what: "gobay serve", timeout: 20
        ) { log in
            guard let range = log.range(of: "listening on 127.0.0.1:") else { return nil }
            return Int(log[range.upperBound...].prefix { $0.isNumber })
        }
    }

    deinit {
        if process.wait(timeout: 0) == nil {
            process.signalGroup(SIGKILL)
            process.wait(timeout: 10)
        }
    }

    /// Everything the server logged.
    public var log: String { process.stdout + process.stderr }

    /// A request to the server.
    public func send(_ method: String, _ path: String, headers: [String: String] = [:], body: Data? = nil)
        -> HTTPTestClient.Reply
    {
        HTTPTestClient.send(method, baseURL + path, headers: headers, body: body)
    }

    /// Polls build `id` until its status is final or `timeout` passes; returns the last record seen.
    public func waitForBuild(_ id: Int64, token: String, timeout: TimeInterval = 120) -> [String: Any]? {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: Any]?
        while Date() < deadline {
            last = send("GET", "/api/v1/builds/\(id)", headers: ["Authorization": "Bearer \(token)"]).json
            if let status = last?["status"] as? String, !["queued", "running"].contains(status) { return last }
            usleep(100_000)
        }
        return last
    }
}

import AsyncHTTPClient
import Foundation
import GobayCore
import NIOCore
import NIOHTTP1

/// Where the CLI sends commands when it talks to a server: `--server URL` or GOBAY_SERVER,
/// with the token from GOBAY_TOKEN.
struct RemoteClient: Sendable {
    let base: String
    let token: String?
    let http: HTTPClient

    /// The server to use (`--server`, else GOBAY_SERVER), or nil for local mode.
    static func server(_ flag: String?) -> String? {
        let server = flag ?? ProcessInfo.processInfo.environment["GOBAY_SERVER"]
        guard let server, !server.isEmpty else { return nil }
        return server
    }

    /// Runs `body` with a client for `server` from the CLI's synchronous main, through
    /// `AsyncBridge`; returns or throws what `body` did.
    @discardableResult
    static func run<Result: Sendable>(
        server: String, _ body: @escaping @Sendable (RemoteClient) async throws -> Result
    ) throws -> Result {
        try AsyncBridge.runBlocking { try await with(server: server, body) }
    }

    /// Runs `body` with a client for `server`, shut down when it returns. A refused connection
    /// fails at once; a followed log may stay quiet for as long as a build step runs (up to a day).
    static func with<Result>(
        server: String, _ body: (RemoteClient) async throws -> Result
    ) async throws -> Result {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(10), read: .hours(24)))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.proxy = URL(string: server).flatMap { ProxySettings().proxy(for: $0) }
        return try await HTTPClient.withHTTPClient(configuration: configuration) { http in
            let token = ProcessInfo.processInfo.environment["GOBAY_TOKEN"]
            let base = server.hasSuffix("/") ? String(server.dropLast()) : server
            return try await body(RemoteClient(base: base, token: token, http: http))
        }
    }

    /// Sends a request and returns the body; a non-2xx answer becomes a GobayError with the
    /// server's error and hint (exit 2 for 4xx, 1 otherwise).
    func request(_ method: HTTPMethod, _ path: String, json: [String: String]? = nil) async throws -> Data {
        try await request(method, path, body: try json.map { try JSONSerialization.data(withJSONObject: $0) })
    }

    /// Sends a request with a JSON `body` and returns the answer's body, as `request(_:_:json:)`.
    func request(_ method: HTTPMethod, _ path: String, body: Data?) async throws -> Data {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        let response = try await send(request, deadline: .now() + .seconds(30))
        do {
            return Data(try await response.body.collect(upTo: Self.bodyLimit).readableBytesView)
        } catch {
            throw GobayError(
                "the answer of the gobay server at \(base) broke off: \(NetworkFailure.reason(error))", kind: .upstream)
        }
    }

    /// Writes the body of a GET of `path` to `output` as it arrives.
    func stream(_ path: String, to output: FileHandle) async throws {
        let response = try await send(HTTPClientRequest(url: base + path), deadline: .now() + .minutes(10))
        do {
            for try await chunk in response.body { output.write(Data(chunk.readableBytesView)) }
        } catch {
            throw GobayError(
                "the answer of the gobay server at \(base) broke off: \(NetworkFailure.reason(error))", kind: .upstream)
        }
    }

    /// Follows a build's log as Server-Sent Events, calling `onLine` for each line; returns the
    /// final status from the end event. Waiting for the next line costs no CPU: the body is read
    /// as it arrives.
    func follow(_ id: Int64, onLine: (String) -> Void) async throws -> String {
        try await follow("/api/v1/builds/\(id)/log?follow=1", what: "build #\(id)", again: "gobay log -f \(id)", onLine: onLine)
    }

    /// Follows the Server-Sent Events log at `path` (a build's or a deployment's); returns the
    /// final status from the end event.
    func follow(_ path: String, what: String, again: String, onLine: (String) -> Void) async throws -> String {
        let response = try await send(HTTPClientRequest(url: base + path), deadline: .distantFuture)
        var events = ServerSentEvents()
        var finalStatus: String?
        var failure: String?
        do {
            for try await chunk in response.body {
                for event in events.feed(chunk.readableBytesView) {
                    if event.name == "end" {
                        let object = (try? JSONSerialization.jsonObject(with: Data(event.data.utf8))) as? [String: Any]
                        finalStatus = object?["status"] as? String ?? "unknown"
                    } else {
                        onLine(event.data)
                    }
                }
            }
        } catch {
            failure = NetworkFailure.reason(error)
        }
        if let finalStatus { return finalStatus }
        throw GobayError(
            "the log stream of \(what) ended early: \(failure ?? "the server closed it")",
            hint: "run `\(again)` again", kind: .upstream)
    }

    /// The most a plain answer may hold (a build's log through `request`).
    static let bodyLimit = 256 << 20

    /// Executes `request` with the token; no answer is "cannot reach", a non-2xx answer the
    /// server's own error.
    private func send(_ request: HTTPClientRequest, deadline: NIODeadline) async throws -> HTTPClientResponse {
        var request = request
        if let token { request.headers.add(name: "Authorization", value: "Bearer " + token) }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, deadline: deadline)
        } catch {
            throw GobayError(
                "cannot reach the gobay server at \(base): \(NetworkFailure.reason(error))",
                hint: "check --server / GOBAY_SERVER and that `gobay serve` is running", kind: .upstream)
        }
        guard (200..<300).contains(response.status.code) else {
            let body = (try? await response.body.collect(upTo: 1 << 20)).map { Data($0.readableBytesView) } ?? Data()
            let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
            let message = object?["error"] as? String ?? "HTTP \(response.status.code)"
            let hint = object?["hint"] as? String
            throw GobayError("server: \(message)", hint: hint, kind: Self.kind(ofStatus: Int(response.status.code)))
        }
        return response
    }

    /// The kind the server's status stands for, so the CLI exits as the server's error deserves
    /// (2 for the caller's mistakes, 1 for failures).
    static func kind(ofStatus status: Int) -> FailureKind {
        switch status {
        case 404: .notFound
        case 409: .conflict
        case 422: .unprocessable
        case 502: .upstream
        case 503: .unavailable
        case 400..<500: .usage
        default: .failure
        }
    }
}

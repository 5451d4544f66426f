import AsyncHTTPClient
import Foundation
import GobayCore
import NIOCore
import NIOHTTP1

/// A plain HTTP client for tests: one request, wait for the whole answer.
public enum HTTPTestClient {
    /// An HTTP answer.
    public struct Reply: Sendable {
        /// The status code (0 when the connection failed).
        public var status: Int
        /// Response headers, names lowercased.
        public var headers: [String: String]
        /// The body.
        public var body: Data
        /// The body as text.
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The body as a JSON object.
        public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
        /// The body as a JSON array of objects.
        public var jsonArray: [[String: Any]]? { (try? JSONSerialization.jsonObject(with: body)) as? [[String: Any]] }
    }

    /// The client every test request goes through: a refused connection fails at once (status 0),
    /// and it lives as long as the test process.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        // A redirect is an answer to check (the dashboard's 303s), not one to follow.
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// Sends a request and waits for the reply (tests are synchronous; this never runs on an event loop).
    public static func send(
        _ method: String, _ url: String, headers: [String: String] = [:], body: Data? = nil, timeout: TimeInterval = 30
    ) -> Reply {
        guard var request = try? HTTPClient.Request(url: url, method: HTTPMethod(rawValue: method)) else {
            return Reply(status: 0, headers: [:], body: Data())
        }
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        let deadline = NIODeadline.now() + .milliseconds(Int64(timeout * 1000))
        guard let response = try? client.execute(request: request, deadline: deadline).wait() else {
            return Reply(status: 0, headers: [:], body: Data())
        }
        var fields: [String: String] = [:]
        for (name, value) in response.headers { fields[name.lowercased()] = value }
        let data = response.body.map { Data($0.readableBytesView) } ?? Data()
        return Reply(status: Int(response.status.code), headers: fields, body: data)
    }
}

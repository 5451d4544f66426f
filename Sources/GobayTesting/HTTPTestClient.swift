import Foundation
import GobayCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

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

    /// Sends a request and waits for the reply.
    public static func send(
        _ method: String, _ url: String, headers: [String: String] = [:], body: Data? = nil, timeout: TimeInterval = 30
    ) -> Reply {
        guard let endpoint = URL(string: url) else { return Reply(status: 0, headers: [:], body: Data()) }
        var request = URLRequest(url: endpoint)
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = timeout
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let box = ReplyBox()
        let done = DispatchSemaphore(value: 0)
        let session = URLSession(configuration: .ephemeral)
        session.dataTask(with: request) { data, response, _ in
            let http = response as? HTTPURLResponse
            var fields: [String: String] = [:]
            for (key, value) in http?.allHeaderFields ?? [:] {
                if let key = key as? String, let value = value as? String { fields[key.lowercased()] = value }
            }
            box.reply = Reply(status: http?.statusCode ?? 0, headers: fields, body: data ?? Data())
            done.signal()
        }.resume()
        done.wait()
        session.finishTasksAndInvalidate()
        return box.reply
    }
}

private final class ReplyBox: @unchecked Sendable {
    var reply = HTTPTestClient.Reply(status: 0, headers: [:], body: Data())
}

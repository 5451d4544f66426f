import Foundation
import GobayCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Where the CLI sends commands when it talks to a server: `--server URL` or GOBAY_SERVER,
/// with the token from GOBAY_TOKEN.
struct RemoteClient {
    let base: String
    let token: String?

    init(server: String) {
        base = server.hasSuffix("/") ? String(server.dropLast()) : server
        token = ProcessInfo.processInfo.environment["GOBAY_TOKEN"]
    }

    /// The server to use, or nil for local mode.
    static func resolve(_ flag: String?) -> RemoteClient? {
        let server = flag ?? ProcessInfo.processInfo.environment["GOBAY_SERVER"]
        guard let server, !server.isEmpty else { return nil }
        return RemoteClient(server: server)
    }

    /// Sends a request and returns the body; a non-2xx answer becomes a GobayError with the
    /// server's error and hint (exit 2 for 4xx, 1 otherwise).
    func request(_ method: String, _ path: String, json: [String: String]? = nil) throws -> Data {
        guard let url = URL(string: base + path) else { throw GobayError("bad server URL \(base)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 30
        if let token { request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            box.data = data ?? Data()
            box.status = (response as? HTTPURLResponse)?.statusCode ?? 0
            box.error = error
            done.signal()
        }.resume()
        done.wait()
        if let error = box.error {
            throw GobayError.failure(
                "cannot reach the gobay server at \(base): \(error.localizedDescription)",
                hint: "check --server / GOBAY_SERVER and that `gobay serve` is running")
        }
        guard (200..<300).contains(box.status) else {
            let object = (try? JSONSerialization.jsonObject(with: box.data)) as? [String: Any]
            let message = object?["error"] as? String ?? "HTTP \(box.status)"
            let hint = object?["hint"] as? String
            throw GobayError("server: \(message)", hint: hint, kind: box.status < 500 ? .usage : .failure)
        }
        return box.data
    }

    /// Follows a build's log as Server-Sent Events, calling `onLine` for each line; returns the
    /// final status from the end event.
    func follow(_ id: Int64, onLine: @escaping (String) -> Void) throws -> String {
        guard let url = URL(string: base + "/api/v1/builds/\(id)/log?follow=1") else {
            throw GobayError("bad server URL \(base)")
        }
        var request = URLRequest(url: url)
        request.timeoutInterval = 24 * 3600
        if let token { request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
        let stream = EventStream(onLine: onLine)
        let session = URLSession(configuration: .default, delegate: stream, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        session.dataTask(with: request).resume()
        stream.done.wait()
        if let status = stream.finalStatus { return status }
        throw GobayError.failure(
            "the log stream of build #\(id) ended early: \(stream.failure ?? "HTTP \(stream.httpStatus)")",
            hint: "run `gobay log -f \(id)` again")
    }
}

private final class ResultBox: @unchecked Sendable {
    var data = Data()
    var status = 0
    var error: Error?
}

/// Parses a `text/event-stream` as it arrives.
private final class EventStream: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let onLine: (String) -> Void
    let done = DispatchSemaphore(value: 0)
    var buffer = Data()
    var event = "message"
    var finalStatus: String?
    var failure: String?
    var httpStatus = 0

    init(onLine: @escaping (String) -> Void) { self.onLine = onLine }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        httpStatus = (response as? HTTPURLResponse)?.statusCode ?? 0
        completionHandler(httpStatus == 200 ? .allow : .cancel)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        buffer.append(data)
        while let newline = buffer.firstIndex(of: 0x0A) {
            let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
            buffer.removeSubrange(buffer.startIndex...newline)
            if line.hasPrefix("event: ") {
                event = String(line.dropFirst(7))
            } else if line.hasPrefix("data: ") {
                let payload = String(line.dropFirst(6))
                if event == "end" {
                    let object = (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) as? [String: Any]
                    finalStatus = object?["status"] as? String ?? "unknown"
                } else {
                    onLine(payload)
                }
            } else if line.isEmpty {
                event = "message"
            }
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if let error { failure = error.localizedDescription }
        done.signal()
    }
}

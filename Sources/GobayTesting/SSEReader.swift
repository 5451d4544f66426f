import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Reads a Server-Sent Events stream in the background, keeping everything received.
public final class SSEReader: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var received = Data()
    private var ended = false
    private var session: URLSession?

    /// Starts reading `url` with a bearer token.
    public init(url: String, token: String?) {
        super.init()
        let session = URLSession(configuration: .default, delegate: self, delegateQueue: nil)
        self.session = session
        guard let endpoint = URL(string: url) else { return }
        var request = URLRequest(url: endpoint)
        request.timeoutInterval = 600
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        session.dataTask(with: request).resume()
    }

    /// Everything received so far.
    public var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: received, as: UTF8.self)
    }

    /// Waits until the server closes the stream.
    public func waitForEnd(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            lock.lock()
            let done = ended
            lock.unlock()
            if done { return true }
            usleep(20_000)
        }
        return false
    }

    public func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        lock.lock()
        received.append(data)
        lock.unlock()
    }

    public func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.lock()
        ended = true
        lock.unlock()
        session.finishTasksAndInvalidate()
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Reads a Server-Sent Events stream in the background, keeping everything received.
public final class SSEReader: Sendable {
    private let received: Received
    private let task: HTTPClient.Task<Void>?

    /// Starts reading `url` with a bearer token.
    public init(url: String, token: String?) {
        received = Received()
        guard var request = try? HTTPClient.Request(url: url) else {
            task = nil
            return
        }
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        task = HTTPTestClient.client.execute(
            request: request, delegate: received, deadline: .now() + .seconds(600))
    }

    deinit { task?.cancel() }

    /// Everything received so far.
    public var text: String { received.text }

    /// Waits until the server closes the stream, or `timeout` passes; true when it closed.
    public func waitForEnd(timeout: TimeInterval) -> Bool {
        guard let task else { return true }
        let ended = task.eventLoop.makePromise(of: Bool.self)
        task.futureResult.whenComplete { _ in ended.succeed(true) }
        let timer = task.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) { ended.succeed(false) }
        defer { timer.cancel() }
        return (try? ended.futureResult.wait()) ?? false
    }
}

/// Collects the body parts as they arrive, on the client's event loop.
private final class Received: HTTPClientResponseDelegate {
    typealias Response = Void

    private let data = Mutex(Data())

    var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        data.withLock { $0.append(contentsOf: buffer.readableBytesView) }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {}
}

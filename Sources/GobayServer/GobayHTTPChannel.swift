import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// HTTP/1.1 as Hummingbird serves it, plus a header read timeout: `HeaderTimeoutHandler` goes in
/// front of Hummingbird's own pipeline, and Hummingbird's idle timeout closes kept-alive
/// connections that send nothing.
struct GobayHTTPChannel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let responder: HTTPChannelHandler.Responder
    let headerTimeout: TimeAmount
    let idleTimeout: TimeAmount

    /// The builder `Application` takes.
    static func builder(headerTimeout: TimeAmount, idleTimeout: TimeAmount) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            GobayHTTPChannel(responder: responder, headerTimeout: headerTimeout, idleTimeout: idleTimeout)
        }
    }

    private var http1: HTTP1Channel {
        HTTP1Channel(
            responder: responder,
            configuration: .init(additionalChannelHandlers: [RequestHeadObserver()], idleTimeout: idleTimeout))
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(HeaderTimeoutHandler(timeout: headerTimeout, logger: logger))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return http1.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

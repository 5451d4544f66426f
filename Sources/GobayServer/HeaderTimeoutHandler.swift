import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// Closes a connection that does not complete a request head within the header timeout:
/// counted from when the connection opens, and on a kept-alive connection from the first byte
/// of the next request (the wait before that byte is the idle timeout's business). Without it a
/// client that sends half a request line and stalls holds a descriptor forever.
///
/// It sits first in the pipeline, where it sees raw bytes; `RequestHeadObserver`, after the HTTP
/// decoder, tells it when a head is complete and when a response has ended.
final class HeaderTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum Phase {
        /// Waiting for the rest of a request head; the timer runs.
        case readingHead
        /// Heads read and not yet answered.
        case answering(Int)
        /// Between requests: no timer until bytes arrive.
        case idle
    }

    private let timeout: TimeAmount
    private let logger: Logger
    private var phase = Phase.readingHead
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(timeout: TimeAmount, logger: Logger) {
        self.timeout = timeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { arm() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        arm()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .idle = phase {
            phase = .readingHead
            arm()
        }
        context.fireChannelRead(data)
    }

    /// The decoder produced a complete request head.
    func headRead() {
        disarm()
        switch phase {
        case .answering(let n): phase = .answering(n + 1)
        case .readingHead, .idle: phase = .answering(1)
        }
    }

    /// A response has been written to its end.
    func responseEnded() {
        guard case .answering(let n) = phase else { return }
        phase = n > 1 ? .answering(n - 1) : .idle
    }

    private func arm() {
        guard timer == nil, let context, case .readingHead = phase else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            timer = nil
            guard case .readingHead = phase, let context = self.context else { return }
            logger.debug(
                "closed a connection that sent no complete request head in time",
                metadata: ["http.remote": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
            context.close(promise: nil)
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}

/// Sits after the HTTP decoder and tells the connection's `HeaderTimeoutHandler` when a request
/// head is complete and when its response has ended.
final class RequestHeadObserver: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var timeout: HeaderTimeoutHandler?

    init() {}

    func handlerAdded(context: ChannelHandlerContext) {
        timeout = try? context.pipeline.syncOperations.handler(type: HeaderTimeoutHandler.self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { timeout?.headRead() }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { timeout?.responseEnded() }
        context.write(data, promise: promise)
    }
}

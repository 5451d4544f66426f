import Foundation
import GobayCore
import Hummingbird
import Logging

/// Builds the HTTP application: webhooks, the JSON API, metrics and the scheduler service, with
/// the header and idle timeouts and the connection cap of `server:`.
public func buildApplication(state: ServerState) throws -> some ApplicationProtocol {
    let server = state.config.server
    guard let address = ListenAddress(server.listen) else {
        throw GobayError("server.listen \"\(server.listen)\" is not host:port")
    }
    let descriptors = DescriptorLimit.raise()
    let cap = server.maxConnections ?? DescriptorLimit.defaultConnectionCap(descriptors: descriptors)
    if cap > descriptors - 64 {
        state.logger.warning(
            "server.max_connections is close to the descriptor limit: builds may fail to open files",
            metadata: ["server.max_connections": "\(cap)", "process.nofile": "\(descriptors)"])
    }
    state.logger.info(
        "connection limits",
        metadata: [
            "server.max_connections": "\(cap)", "server.header_timeout": "\(server.headerTimeout)",
            "server.idle_timeout": "\(server.idleTimeout)",
        ])
    return Application(
        router: buildRouter(state: state),
        server: GobayHTTPChannel.builder(
            headerTimeout: .milliseconds(Int64(server.headerTimeout * 1000)),
            idleTimeout: .milliseconds(Int64(server.idleTimeout * 1000))),
        configuration: .init(
            address: .hostname(address.host, port: address.port), serverName: "gobay",
            availableConnectionsDelegate: ConnectionCap(limit: cap, logger: state.logger)),
        // Services stop in reverse order: the reporter last, so it still sends the statuses of the
        // builds the scheduler finishes or cancels while it stops.
        services: [
            state.reporter, SchedulerService(state: state), ConfigReloadService(state: state),
            RetentionService(state: state),
        ],
        logger: state.logger)
}

/// The router with every endpoint. A full disk or a damaged database under any of them is
/// answered as JSON (`StorageFailureMiddleware`).
public func buildRouter(state: ServerState) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: AccessLogMiddleware(logger: state.logger))
    router.add(middleware: StorageFailureMiddleware(state: state))
    WebhookController(state: state).addRoutes(to: router)
    let api = APIController(state: state)
    api.addRoutes(to: router)
    // Metrics name projects and environments: readable like the API (public_read or a token).
    router.get("/metrics") { request, _ in
        try api.authorize(request, write: false)
        let text = await state.metrics.render(database: state.database, running: state.scheduler.running.count)
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
    router.get("/healthz") { _, _ in "ok\n" }
    return router
}

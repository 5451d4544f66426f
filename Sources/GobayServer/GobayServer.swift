import Foundation
import GobayCore
import Hummingbird
import Logging

/// Builds the HTTP application: webhooks, the JSON API, metrics and the scheduler service.
public func buildApplication(state: ServerState) throws -> some ApplicationProtocol {
    guard let address = ListenAddress(state.config.server.listen) else {
        throw GobayError("server.listen \"\(state.config.server.listen)\" is not host:port")
    }
    return Application(
        router: buildRouter(state: state),
        configuration: .init(address: .hostname(address.host, port: address.port), serverName: "gobay"),
        services: [SchedulerService(state: state)],
        logger: state.logger)
}

/// The router with every endpoint.
public func buildRouter(state: ServerState) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    WebhookController(state: state).addRoutes(to: router)
    APIController(state: state).addRoutes(to: router)
    router.get("/metrics") { _, _ in
        let text = state.metrics.render(database: state.database, running: state.scheduler.running.count)
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
    router.get("/healthz") { _, _ in "ok\n" }
    return router
}

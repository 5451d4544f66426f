import Foundation
import GobayCore
import Hummingbird

/// `GET /metrics`: Prometheus text. Metrics name projects and environments, so they are readable
/// like the API (public_read or a token).
struct MetricsController: Sendable {
    let metrics: ServerMetrics
    let database: AppDatabase
    let scheduler: Scheduler
    let auth: RequestAuthorization

    /// The route, at `/metrics`.
    var endpoints: RouteCollection<BasicRequestContext> {
        let routes = RouteCollection(context: BasicRequestContext.self)
        routes.get("metrics") { request, _ in
            try auth.authorize(request, write: false)
            let text = await metrics.render(database: database, running: scheduler.running.count)
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        return routes
    }
}

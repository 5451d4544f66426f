import Foundation
import Hummingbird
import Logging

/// Logs one line per request at info: method, path (never the query string, which may carry a
/// token), status and duration. Never the body or the headers, which carry secrets.
struct AccessLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            log(request, status: response.status.code, since: start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            log(request, status: status, since: start)
            throw error
        }
    }

    private func log(_ request: Request, status: Int, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let millis = elapsed.inSeconds * 1000
        logger.info(
            "request",
            metadata: [
                "http.method": "\(request.method.rawValue)", "http.path": "\(request.uri.path)",
                "http.status": "\(status)", "http.duration_ms": "\(String(format: "%.1f", millis))",
            ])
    }
}

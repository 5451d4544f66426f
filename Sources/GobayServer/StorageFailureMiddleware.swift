import Foundation
import GobayCore
import Hummingbird
import Logging

/// Turns a full disk or a damaged database under any route into a JSON answer instead of an
/// empty 500: a full disk is 503 with `Retry-After` (the sender tries again and the next
/// delivery after space is freed is queued), a damaged database is 500 naming the file.
/// Each refusal is logged.
struct StorageFailureMiddleware<Context: RequestContext>: RouterMiddleware {
    let configHolder: ConfigHolder
    let metrics: ServerMetrics
    let logger: Logger

    /// Seconds a client is asked to wait before it sends again after a full-disk refusal.
    static var retryAfterSeconds: Int { 30 }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            guard let failure = StorageFailure(error) else { throw error }
            let database = configHolder.current.config.data.database
            let path = request.uri.path
            logger.warning(
                "refused a request: \(failure.problem)",
                metadata: [
                    "http.method": "\(request.method.rawValue)", "http.path": "\(path)",
                    "storage.file": "\(database)", "storage.error": "\(error)",
                ])
            if path.hasPrefix("/hooks/"), let sender = WebhookSender(rawValue: String(path.dropFirst("/hooks/".count))) {
                metrics.delivery(sender: sender.rawValue, result: failure == .noSpace ? "no_space" : "damaged")
            }
            switch failure {
            case .noSpace:
                throw APIError(
                    .serviceUnavailable,
                    "cannot record the request: no space left on device under the data dir \(configHolder.current.config.dataDir)",
                    hint: failure.hint(path: configHolder.current.config.dataDir)
                        + "; the server goes on by itself: send again (after Retry-After) once there is room",
                    retryAfter: Self.retryAfterSeconds)
            case .damaged:
                throw APIError(
                    .internalServerError, "cannot record the request: \(failure.problem) (\(database))",
                    hint: failure.hint(path: database))
            }
        }
    }
}

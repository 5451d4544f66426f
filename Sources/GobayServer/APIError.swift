import Foundation
import GobayCore
import Hummingbird

/// An error answered as JSON `{"error": "...", "hint": "..."}` with its HTTP status.
public struct APIError: HTTPResponseError, Sendable {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// What is wrong.
    public var message: String
    /// How to fix it.
    public var hint: String?
    /// Seconds after which the client may try again (`Retry-After`), for a passing refusal.
    public var retryAfter: Int?

    /// Creates an error.
    public init(_ status: HTTPResponse.Status, _ message: String, hint: String? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.hint = hint
        self.retryAfter = retryAfter
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var body: [String: String] = ["error": message]
        if let hint { body["hint"] = hint }
        var response = JSONResponse.make(body, status: status)
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    /// Answers a core error with the status its kind decides (the one place that mapping happens).
    init(_ error: any UserFacingError) {
        self.init(HTTPResponse.Status(code: error.kind.httpStatus), error.message, hint: error.hint)
    }
}

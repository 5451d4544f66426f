import Foundation
import GobayCore
import Hummingbird

/// Who may call the API: reads need a token unless `public_read`; writes always do. Tokens are
/// compared by hash, in constant time, against the config in force.
struct RequestAuthorization: Sendable {
    let config: ConfigHolder
    /// Dashboard logins: a session may read through the API (the live log, artifacts), never
    /// change anything there (a cookie would make that forgeable from another site).
    var sessions: DashboardSessions? = nil

    /// Throws 401 unless `request` may read (or, with `write`, change) things.
    func authorize(_ request: Request, write: Bool) throws {
        let loaded = config.current
        if !write && loaded.config.server.publicRead { return }
        if !write, let sessions, sessions.session(for: request, config: loaded) != nil { return }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw APIError(.unauthorized, "this endpoint needs a token", hint: "send Authorization: Bearer <token>")
        }
        guard loaded.isValidToken(String(header.dropFirst(7))) else {
            throw APIError(.unauthorized, "the token is not valid", hint: "use a token whose sha256 is in server.tokens")
        }
    }
}

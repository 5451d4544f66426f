import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// Dashboard logins: an API token entered once on the login page becomes a session, named by a
/// random id in an HttpOnly, SameSite=Strict cookie. A session carries its own CSRF token, which
/// every form that changes something sends back, and the hash of the token it was made with: it
/// ends when it expires, on log out, or when that token leaves the config. Sessions live in the
/// server's memory; a restart logs everyone out.
final class DashboardSessions: Sendable {
    /// One logged-in browser.
    struct Session: Sendable {
        /// The cookie's value: 32 random bytes, hex.
        let id: String
        /// What forms carry back: 32 random bytes, hex.
        let csrf: String
        /// The SHA-256 of the API token it was made with.
        let tokenHash: [UInt8]
        /// When it ends.
        let expires: Date
    }

    /// The cookie's name.
    static let cookieName = "gobay_session"
    /// How long a session lasts.
    let lifetime: TimeInterval
    /// The most sessions kept; the oldest go first.
    let capacity: Int
    private let sessions = Mutex<[String: Session]>([:])

    init(lifetime: TimeInterval = 12 * 3600, capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// A new session for a token whose hash is `tokenHash`.
    func create(tokenHash: [UInt8], now: Date = Date()) -> Session {
        let session = Session(
            id: Self.randomHex(), csrf: Self.randomHex(), tokenHash: tokenHash, expires: now.addingTimeInterval(lifetime))
        sessions.withLock { sessions in
            if sessions.count >= capacity {
                sessions = sessions.filter { $0.value.expires > now }
                while sessions.count >= capacity, let oldest = sessions.min(by: { $0.value.expires < $1.value.expires }) {
                    sessions[oldest.key] = nil
                }
            }
            sessions[session.id] = session
        }
        return session
    }

    /// The live session named by `request`'s cookie, if its token is still configured.
    func session(for request: Request, config: LoadedConfig, now: Date = Date()) -> Session? {
        guard let id = Self.cookie(Self.cookieName, in: request) else { return nil }
        return sessions.withLock { sessions -> Session? in
            guard let session = sessions[id] else { return nil }
            guard session.expires > now, config.hasTokenHash(session.tokenHash) else {
                sessions[id] = nil
                return nil
            }
            return session
        }
    }

    /// Ends the session `id`.
    func remove(_ id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    /// The Set-Cookie value that holds `session` (Secure when the server is reached over https).
    func cookie(for session: Session, secure: Bool) -> String {
        "\(Self.cookieName)=\(session.id); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(lifetime))"
            + (secure ? "; Secure" : "")
    }

    /// The Set-Cookie value that removes the cookie.
    static func expiredCookie(secure: Bool) -> String {
        "\(cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" + (secure ? "; Secure" : "")
    }

    /// The value of cookie `name` in `request`'s Cookie headers.
    static func cookie(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }

    /// 32 bytes from the system's secure generator, as hex.
    static func randomHex() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

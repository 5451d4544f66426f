import AsyncHTTPClient
import Foundation

/// The HTTP proxy the environment names for a URL, read as curl reads it (and as gobay did while it
/// used libcurl): `http_proxy` for http URLs, `https_proxy` for https ones (lowercase names first,
/// then uppercase), `all_proxy` for either, and `no_proxy` listing hosts that go direct (a host
/// or domain suffix, `.example.com`, or `*` for every host). Only plain-HTTP proxies are
/// supported; https URLs go through them with CONNECT.
public struct ProxySettings: Sendable {
    let environment: [String: String]

    /// The settings of `environment` (the process's own by default).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// A proxy server: host, port and optional basic credentials.
    public struct Server: Sendable, Equatable {
        /// The proxy's host.
        public var host: String
        /// The proxy's port (1080 when the variable names none, as curl does).
        public var port: Int
        /// `user:password` from the proxy URL, when it has them.
        public var credentials: (user: String, password: String)?

        /// Names a proxy server.
        public init(host: String, port: Int, credentials: (user: String, password: String)? = nil) {
            self.host = host
            self.port = port
            self.credentials = credentials
        }

        public static func == (a: Server, b: Server) -> Bool {
            a.host == b.host && a.port == b.port && a.credentials?.user == b.credentials?.user
                && a.credentials?.password == b.credentials?.password
        }
    }

    /// The proxy for `url`, or nil to connect directly.
    public func server(for url: URL) -> Server? {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host?.lowercased()
        else { return nil }
        if bypasses(host) { return nil }
        let names = [scheme + "_proxy", "all_proxy"]
        for name in names {
            // Like curl, never HTTP_PROXY in upper case: a CGI script's request can set it ("httpoxy").
            for key in [name, name.uppercased()] where key != "HTTP_PROXY" {
                if let value = environment[key], !value.isEmpty { return Self.parse(value) }
            }
        }
        return nil
    }

    /// The AsyncHTTPClient proxy setting for `url`.
    public func proxy(for url: URL) -> HTTPClient.Configuration.Proxy? {
        guard let server = server(for: url) else { return nil }
        if let credentials = server.credentials {
            return .server(
                host: server.host, port: server.port,
                authorization: .basic(username: credentials.user, password: credentials.password))
        }
        return .server(host: server.host, port: server.port)
    }

    private func bypasses(_ host: String) -> Bool {
        let list = environment["no_proxy"] ?? environment["NO_PROXY"] ?? ""
        for entry in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() })
        where !entry.isEmpty {
            if entry == "*" { return true }
            let domain = entry.hasPrefix(".") ? String(entry.dropFirst()) : entry
            if host == domain || host.hasSuffix("." + domain) { return true }
        }
        return false
    }

    /// `http://user:pass@host:port/`, `host:port` or `host`; nil for a proxy scheme other than http.
    static func parse(_ value: String) -> Server? {
        let text = value.contains("://") ? value : "http://" + value
        guard let components = URLComponents(string: text), components.scheme?.lowercased() == "http",
            let host = components.host, !host.isEmpty
        else { return nil }
        let credentials = components.user.map { ($0.removingPercentEncoding ?? $0, (components.password ?? "").removingPercentEncoding ?? "") }
        return Server(host: host, port: components.port ?? 1080, credentials: credentials)
    }
}

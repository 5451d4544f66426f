import Foundation

/// A secret as written in gobay.yml: a literal, `{env: VAR}`, or (for a project's webhook secret) `none`.
public enum SecretSource: Sendable, Equatable {
    /// The secret itself, written in the file.
    case literal(String)
    /// Read from this environment variable when needed.
    case environment(String)
    /// Explicitly no secret: hooks for this project are accepted unverified.
    case none

    /// The secret's value; throws naming the variable when it is unset.
    public func resolve(_ env: [String: String] = ProcessInfo.processInfo.environment, what: String) throws -> String? {
        switch self {
        case .literal(let value): return value
        case .none: return nil
        case .environment(let name):
            guard let value = env[name], !value.isEmpty else {
                throw GobayError(
                    "\(what) reads the environment variable \(name), which is not set",
                    hint: "export \(name) before starting gobay, or write the secret in the config")
            }
            return value
        }
    }
}

/// An API token as configured: the SHA-256 of the token, or a variable holding the token itself.
public enum TokenSource: Sendable, Equatable {
    /// Lowercase hex SHA-256 of the token.
    case sha256(String)
    /// The token is in this environment variable.
    case environment(String)
}

/// How the server writes its log lines.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `time level message key=value ...`, values quoted when they hold spaces, quotes or `=`.
    case text
    /// One JSON object per line.
    case json
}

/// The `server:` section.
public struct ServerConfig: Sendable {
    /// host:port to listen on.
    public var listen: String = "127.0.0.1:8080"
    /// The URL people reach the server at, for links in commit statuses.
    public var publicURL: String?
    /// Builds at once across all environments; default: the number of cores.
    public var maxBuilds: Int = ProcessInfo.processInfo.activeProcessorCount
    /// The global webhook secret.
    public var webhookSecret: SecretSource?
    /// API tokens.
    public var tokens: [TokenSource] = []
    /// Whether read endpoints work without a token.
    public var publicRead = false
    /// The largest webhook or API body accepted, in bytes.
    public var maxBody: Int = 5 * 1024 * 1024
    /// How long a queued build waits for newer pushes to the same branch before it may start.
    public var quietPeriod: TimeInterval = 1
    /// How long running builds may take to finish after SIGTERM before they are canceled.
    public var gracePeriod: TimeInterval = 30
    /// How long a connection may take to send a complete request head (from when it opens, or
    /// from the first byte of a later request on a kept-alive connection) before it is closed.
    public var headerTimeout: TimeInterval = 10
    /// How long a kept-alive connection may sit idle between requests before it is closed.
    public var idleTimeout: TimeInterval = 60
    /// Open connections at most; nil: min(4096, half the process's descriptor limit).
    public var maxConnections: Int?
    /// The server log's line format.
    public var logFormat: LogFormat = .text

    /// Defaults.
    public init() {}
}

/// Where a project's commit statuses are reported.
public struct StatusConfig: Sendable {
    /// GitLab: `POST {url}/api/v4/projects/{project_id}/statuses/{sha}`.
    public struct GitLab: Sendable {
        /// The GitLab base URL.
        public var url: String
        /// The numeric id or URL-encoded path of the project.
        public var projectID: String
        /// The environment variable holding the access token.
        public var tokenEnv: String
    }

    /// GitHub: `POST {url}/repos/{repo}/statuses/{sha}`.
    public struct GitHub: Sendable {
        /// The API base URL (https://api.github.com or a GHE URL).
        public var url: String
        /// owner/name.
        public var repo: String
        /// The environment variable holding the access token.
        public var tokenEnv: String
    }

    /// GitLab reporting, if set.
    public var gitlab: GitLab?
    /// GitHub reporting, if set.
    public var github: GitHub?
}

import Foundation

/// The `server:` section.
public struct ServerConfig: Sendable, Equatable {
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

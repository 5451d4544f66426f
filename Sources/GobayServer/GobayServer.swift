import Foundation
import GobayCore
import Hummingbird
import Logging

/// Builds the HTTP application: webhooks, the JSON API, metrics and the scheduler service, with
/// the header and idle timeouts and the connection cap of `server:`.
public func buildApplication(state: ServerState) throws -> some ApplicationProtocol {
    let server = state.config.server
    guard let address = ListenAddress(server.listen) else {
        throw GobayError("server.listen \"\(server.listen)\" is not host:port")
    }
    let descriptors = DescriptorLimit.raise()
    let cap = server.maxConnections ?? DescriptorLimit.defaultConnectionCap(descriptors: descriptors)
    if cap > descriptors - 64 {
        state.logger.warning(
            "server.max_connections is close to the descriptor limit: builds may fail to open files",
            metadata: ["server.max_connections": "\(cap)", "process.nofile": "\(descriptors)"])
    }
    state.logger.info(
        "connection limits",
        metadata: [
            "server.max_connections": "\(cap)", "server.header_timeout": "\(server.headerTimeout)",
            "server.idle_timeout": "\(server.idleTimeout)",
        ])
    return Application(
        router: buildRouter(state: state),
        server: GobayHTTPChannel.builder(
            headerTimeout: .milliseconds(Int64(server.headerTimeout * 1000)),
            idleTimeout: .milliseconds(Int64(server.idleTimeout * 1000))),
        configuration: .init(
            address: .hostname(address.host, port: address.port), serverName: "gobay",
            availableConnectionsDelegate: ConnectionCap(limit: cap, logger: state.logger)),
        // Services stop in reverse order: the reporter last, so it still sends the statuses of the
        // builds the scheduler finishes or cancels while it stops.
        services: [
            state.reporter, SchedulerService(state: state), ConfigReloadService(state: state),
            RetentionService(state: state), state.libraryUpdates, state.deployments,
        ],
        logger: state.logger)
}

/// What the HTTP routes use, and nothing else: no server lock, no crash recovery, no services.
/// Tests make one over an in-memory database and drive the router in process.
public struct RouterParts: Sendable {
    /// The config in force (swapped on reload).
    public var config: ConfigHolder
    /// The build history and queue.
    public var database: AppDatabase
    /// The queue runner, told about new and canceled builds.
    public var scheduler: Scheduler
    /// Commit statuses for queued builds.
    public var reporter: CommitStatusReporter
    /// Prometheus metrics.
    public var metrics: ServerMetrics
    /// Wakes log followers; nil without inotify.
    public var watcher: BuildDirectoryWatcher?
    /// The server's logger.
    public var logger: Logger
    /// Library updates pushes ask for; nil: library pushes only queue the dependents' builds.
    public var libraryUpdates: LibraryUpdateService?
    /// Deployments the API asks for; nil: the deployment routes answer 503.
    public var deployments: DeployService?

    /// Names every part.
    public init(
        config: ConfigHolder, database: AppDatabase, scheduler: Scheduler, reporter: CommitStatusReporter,
        metrics: ServerMetrics, watcher: BuildDirectoryWatcher?, logger: Logger, libraryUpdates: LibraryUpdateService? = nil,
        deployments: DeployService? = nil
    ) {
        self.libraryUpdates = libraryUpdates
        self.deployments = deployments
        self.config = config
        self.database = database
        self.scheduler = scheduler
        self.reporter = reporter
        self.metrics = metrics
        self.watcher = watcher
        self.logger = logger
    }
}

/// The router of a running server.
public func buildRouter(state: ServerState) -> Router<BasicRequestContext> {
    buildRouter(
        RouterParts(
            config: state.holder, database: state.database, scheduler: state.scheduler, reporter: state.reporter,
            metrics: state.metrics, watcher: state.buildWatcher, logger: state.logger, libraryUpdates: state.libraryUpdates,
            deployments: state.deployments))
}

/// The router with every endpoint; each controller gets only the parts it uses. A full disk or
/// a damaged database under any of them is answered as JSON (`StorageFailureMiddleware`).
public func buildRouter(_ parts: RouterParts) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: AccessLogMiddleware(logger: parts.logger))
    router.add(middleware: StorageFailureMiddleware(configHolder: parts.config, metrics: parts.metrics, logger: parts.logger))
    let sessions = DashboardSessions()
    let auth = RequestAuthorization(config: parts.config, sessions: sessions)
    let webhooks = WebhookController(
        configHolder: parts.config, database: parts.database, scheduler: parts.scheduler, reporter: parts.reporter,
        metrics: parts.metrics, logger: parts.logger, libraryUpdates: parts.libraryUpdates)
    router.addRoutes(webhooks.endpoints, atPath: "/hooks")
    let api = APIController(
        configHolder: parts.config, database: parts.database, scheduler: parts.scheduler, watcher: parts.watcher,
        auth: auth)
    router.addRoutes(api.endpoints, atPath: "/api/v1")
    router.addRoutes(
        DeploymentController(
            configHolder: parts.config, database: parts.database, deployments: parts.deployments, watcher: parts.watcher,
            auth: auth
        )
            .endpoints,
        atPath: "/api/v1")
    router.addRoutes(
        MetricsController(metrics: parts.metrics, database: parts.database, scheduler: parts.scheduler, auth: auth).endpoints)
    router.get("/healthz") { _, _ in "ok\n" }
    do {
        try DashboardController(parts: parts, sessions: sessions).register(on: router)
    } catch {
        parts.logger.error("the dashboard's templates do not parse; no dashboard", metadata: ["error": "\(error)"])
    }
    return router
}

import Crypto
import Foundation
import GobayCore
import Logging
import Synchronization

/// Everything the server's routes share: the loaded config, database, scheduler, reporter,
/// metrics and the resolved secrets. Secrets live only here, never in logs. The config can be
/// swapped by `reload()` (SIGHUP); routes read it per request.
public final class ServerState: Sendable {
    /// The config in force and what was derived from it.
    public var loaded: LoadedConfig { holder.current }
    /// The config in force.
    public var config: GobayConfig { holder.current.config }
    /// The build history and queue.
    public let database: AppDatabase
    /// The queue runner.
    public let scheduler: Scheduler
    /// Library updates that pushes to a library ask for.
    public let libraryUpdates: LibraryUpdateService
    /// Deployments: asked for through the API, or after a build of a branch in `deploy.on`.
    public let deployments: DeployService
    /// Commit status reporting.
    public let reporter: CommitStatusReporter
    /// Prometheus metrics.
    public let metrics: ServerMetrics
    /// The server's logger.
    public let logger: Logger
    /// Wakes log followers when a build's log or status changes; nil without inotify.
    public let buildWatcher: BuildDirectoryWatcher?
    /// `--listen`, which outlives reloads.
    let listenOverride: String?
    let environment: [String: String]
    /// The config in force, swapped by `reload()`.
    public let holder: ConfigHolder
    /// Held for the server's lifetime: one server per data dir.
    let serverLock: ServerLock

    /// Takes the data dir's server lock, opens the database, reaps and requeues builds a previous
    /// process left unfinished, and creates the scheduler (not started). `listen` is `--listen`.
    public init(
        loaded: LoadedConfig, listen: String? = nil, logger: Logger,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        let config = loaded.config
        holder = ConfigHolder(loaded)
        listenOverride = listen
        self.environment = environment
        self.logger = logger
        // Before anything reads or changes the queue: a second server would requeue the first one's builds.
        serverLock = try ServerLock(dataDir: config.dataDir, listen: config.server.listen)
        database = try AppDatabase(dataDir: config.dataDir)
        metrics = ServerMetrics()
        let publicURL = config.server.publicURL ?? "http://\(config.server.listen)"
        let log = logger
        reporter = CommitStatusReporter(
            publicURL: publicURL, logTarget: .dashboard, environment: environment
        ) { message in
            log.warning("\(message)")
        }
        let interrupted = try BuildRunner.reapInterrupted(database: database, dataDir: config.dataDir)
        if !interrupted.isEmpty { logger.warning("builds interrupted by a previous stop: \(interrupted)") }
        for (old, new) in try database.requeueInterrupted(notBefore: Date()) {
            logger.info("build #\(old) was interrupted; queued again as #\(new)")
        }
        let deadDeployments = try Deployer.reapInterrupted(database: database, dataDir: config.dataDir)
        if !deadDeployments.isEmpty { logger.warning("deployments interrupted by a previous stop: \(deadDeployments)") }
        let watcher = BuildDirectoryWatcher()
        buildWatcher = watcher
        let dataDir = config.dataDir
        var hooks = Scheduler.Hooks()
        hooks.queueChanged = { watcher?.notifyQueued() }
        let reporter = self.reporter
        let metrics = self.metrics
        let holder = self.holder
        hooks.running = { id, plan in
            reporter.report(project: plan.project, sha: plan.commit, state: .running, buildID: id, description: "building")
        }
        let metricsForDeploys = self.metrics
        let deployments = DeployService(
            config: { holder.current.config }, database: database, logger: logger, reporter: reporter
        ) { record in
            watcher?.notify((DataDirectory(dataDir).deploymentLog(record.id) as NSString).deletingLastPathComponent)
            metricsForDeploys.deploymentFinished(record)
        }
        self.deployments = deployments
        hooks.finished = { record in
            deployments.buildFinished(record)
            watcher?.notify(DataDirectory(dataDir).build(record.id).path)
            metrics.buildFinished(record)
            log.info("build finished", metadata: ["build.id": "\(record.id)", "build.status": "\(record.status.rawValue)"])
            if let project = holder.current.config.projects.first(where: { $0.name == record.project }) {
                reporter.report(
                    project: project, sha: record.commit, state: CommitState(record.status), buildID: record.id,
                    description: "build \(record.status.rawValue)")
            }
        }
        let scheduler = try Scheduler(config: config, database: database, hooks: hooks)
        self.scheduler = scheduler
        libraryUpdates = LibraryUpdateService(config: { holder.current.config }, database: database, logger: logger) { _ in
            watcher?.notifyQueued()
            scheduler.wake()
        }
    }

    /// Whether `token` is one of the configured API tokens (compared by hash, in constant time).
    func isValidToken(_ token: String) -> Bool { loaded.isValidToken(token) }
}

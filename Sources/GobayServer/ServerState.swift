import Crypto
import Foundation
import GobayCore
import Logging

/// Everything the server's routes share: config, database, scheduler, reporter, metrics and the
/// resolved secrets. Secrets live only here, never in logs.
public final class ServerState: @unchecked Sendable {
    /// The loaded config.
    public let config: GobayConfig
    /// The build history and queue.
    public let database: AppDatabase
    /// The queue runner.
    public let scheduler: Scheduler
    /// Commit status reporting.
    public let reporter: CommitStatusReporter
    /// Prometheus metrics.
    public let metrics: ServerMetrics
    /// The server's logger.
    public let logger: Logger
    let globalSecret: String?
    let projectSecrets: [String: SecretSource]
    let resolvedProjectSecrets: [String: String]
    let tokenHashes: [[UInt8]]
    /// Held for the server's lifetime: one server per data dir.
    let serverLock: ServerLock

    /// Takes the data dir's server lock, loads secrets, opens the database, reaps and requeues
    /// builds a previous process left unfinished, and creates the scheduler (not started).
    public init(config: GobayConfig, logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws
    {
        self.config = config
        self.logger = logger
        // Before anything reads or changes the queue: a second server would requeue the first one's builds.
        serverLock = try ServerLock(dataDir: config.dataDir, listen: config.server.listen)
        globalSecret = try config.server.webhookSecret?.resolve(environment, what: "server.webhook_secret")
        var sources: [String: SecretSource] = [:]
        var resolved: [String: String] = [:]
        for project in config.projects {
            guard let source = project.webhookSecret else { continue }
            sources[project.name] = source
            if let value = try source.resolve(environment, what: "projects.\(project.name).webhook_secret") {
                resolved[project.name] = value
            }
        }
        projectSecrets = sources
        resolvedProjectSecrets = resolved
        tokenHashes = try config.server.tokens.map { token in
            switch token {
            case .sha256(let hex): return Self.bytes(hex: hex)
            case .environment(let name):
                guard let value = environment[name], !value.isEmpty else {
                    throw GobayError(
                        "server.tokens reads the environment variable \(name), which is not set",
                        hint: "export \(name) before starting gobay serve")
                }
                return Array(SHA256.hash(data: Data(value.utf8)))
            }
        }
        database = try AppDatabase(dataDir: config.dataDir)
        metrics = ServerMetrics()
        let publicURL = config.server.publicURL ?? "http://\(config.server.listen)"
        let log = logger
        reporter = CommitStatusReporter(publicURL: publicURL, environment: environment) { message in
            log.warning("\(message)")
        }
        let interrupted = try BuildRunner.reapInterrupted(database: database, dataDir: config.dataDir)
        if !interrupted.isEmpty { logger.warning("builds interrupted by a previous stop: \(interrupted)") }
        for (old, new) in try database.requeueInterrupted(notBefore: Date()) {
            logger.info("build #\(old) was interrupted; queued again as #\(new)")
        }
        var hooks = Scheduler.Hooks()
        let reporter = self.reporter
        let metrics = self.metrics
        let projects = config.projects
        hooks.running = { id, plan in
            reporter.report(project: plan.project, sha: plan.commit, state: .running, buildID: id, description: "building")
        }
        hooks.finished = { record in
            metrics.buildFinished(record)
            log.info("build finished", metadata: ["build.id": "\(record.id)", "build.status": "\(record.status.rawValue)"])
            if let project = projects.first(where: { $0.name == record.project }) {
                reporter.report(
                    project: project, sha: record.commit, state: CommitState(record.status), buildID: record.id,
                    description: "build \(record.status.rawValue)")
            }
        }
        scheduler = try Scheduler(config: config, database: database, hooks: hooks)
    }

    /// Whether `token` is one of the configured API tokens (compared by hash, in constant time).
    func isValidToken(_ token: String) -> Bool {
        let hash = Array(SHA256.hash(data: Data(token.utf8)))
        var found = false
        for known in tokenHashes where ConstantTime.equal(known, hash) { found = true }
        return found
    }

    private static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
            out.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return out
    }
}

/// Comparison that takes the same time wherever the inputs differ.
enum ConstantTime {
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}

import Foundation
import Logging
import ServiceLifecycle

/// The server's deployments, as a `Service`: `request` checks and records a deployment
/// (`queued`) and returns at once; `run()` runs each as a child task, so deployments of
/// different projects go at the same time (one per project and target, by the targets' locks).
/// At a graceful shutdown, running deployments finish; none is left half-way by choice.
public final class DeployService: Service, Sendable {
    private let config: @Sendable () -> GobayConfig
    private let database: AppDatabase
    private let logger: Logger
    private let reporter: CommitStatusReporter?
    private let finished: @Sendable (DeploymentRecord) -> Void
    private let jobs: AsyncStream<Job>
    private let input: AsyncStream<Job>.Continuation

    private struct Job: Sendable {
        var plan: Deployer.Plan
        var id: Int64
    }

    /// A service on the config in force (`config`); `reporter` posts `gobay/deploy` commit
    /// statuses, `finished` hears of every deployment that ended.
    public init(
        config: @escaping @Sendable () -> GobayConfig, database: AppDatabase, logger: Logger,
        reporter: CommitStatusReporter?, finished: @escaping @Sendable (DeploymentRecord) -> Void = { _ in }
    ) {
        self.config = config
        self.database = database
        self.logger = logger
        self.reporter = reporter
        self.finished = finished
        (jobs, input) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Checks the request (the project deploys, the build succeeded, its binary is intact),
    /// records the deployment and queues it; returns the queued record. Bad input throws and
    /// records nothing.
    @discardableResult
    public func request(project: String, build: Int64?, targets: [String]?, trigger: String) throws -> DeploymentRecord {
        let deployer = Deployer(config: config(), database: database, echo: nil)
        let plan = try deployer.plan(project: project, build: build, targets: targets)
        let id = try deployer.record(plan, trigger: trigger)
        guard let record = try database.deployment(id) else { throw GobayError.failure("deployment #\(id) vanished") }
        report(plan, id: id, state: .pending, "deployment queued")
        input.yield(Job(plan: plan, id: id))
        return record
    }

    /// After a successful build of a branch the project lists in `deploy.on`, deploys it.
    public func buildFinished(_ record: BuildRecord) {
        guard record.status == .succeeded,
            let project = config().projects.first(where: { $0.name == record.project }),
            let deploy = project.deploy, !deploy.targets.isEmpty,
            deploy.on.contains(where: { RefGlob.matches(pattern: $0, name: record.ref) })
        else { return }
        do {
            let queued = try request(project: record.project, build: record.id, targets: nil, trigger: "build")
            logger.info(
                "deployment queued after a build", metadata: ["deploy.id": "\(queued.id)", "build.id": "\(record.id)"])
        } catch {
            logger.error(
                "cannot deploy build #\(record.id)",
                metadata: ["project": "\(record.project)", "error": "\(SecretMask.urlPasswords(userMessage(error)))"])
        }
    }

    /// Runs queued deployments until the server stops; lets running ones finish.
    public func run() async throws {
        let input = self.input
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await job in jobs {
                    group.addTask { await self.execute(job) }
                }
            }
        } onGracefulShutdown: {
            input.finish()
        }
    }

    private func execute(_ job: Job) async {
        let deployer = Deployer(config: config(), database: database, echo: nil)
        report(job.plan, id: job.id, state: .running, "deploying")
        do {
            let record = try await deployer.run(job.plan, id: job.id)
            report(
                job.plan, id: job.id, state: record.status == .succeeded ? .success : .failed,
                "deployment \(record.status.rawValue)")
            logger.info(
                "deployment finished", metadata: ["deploy.id": "\(record.id)", "deploy.status": "\(record.status.rawValue)"])
            finished(record)
        } catch {
            report(job.plan, id: job.id, state: .failed, "deployment failed")
            try? database.finishDeployment(job.id, status: .failed, error: userMessage(error))
            logger.error("deployment failed", metadata: ["deploy.id": "\(job.id)", "error": "\(userMessage(error))"])
        }
    }

    private func report(_ plan: Deployer.Plan, id: Int64, state: CommitState, _ description: String) {
        reporter?.report(
            project: plan.project, sha: plan.build.commit, state: state, buildID: plan.build.id, description: description,
            deploymentID: id)
    }
}

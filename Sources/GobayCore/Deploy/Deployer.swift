import Foundation

/// Deploys builds: checks the build and its artifact, records the deployment, and takes the
/// project's targets by its strategy, one deployment per project and target at a time (a
/// cross-process lock). Each target gets the steps of `TargetDeploy`.
public struct Deployer: Sendable {
    /// The config in force.
    public let config: GobayConfig
    /// The history.
    public let database: AppDatabase
    private let echo: (@Sendable (String) -> Void)?

    /// A deployer; `echo` receives every log line live.
    public init(config: GobayConfig, database: AppDatabase, echo: (@Sendable (String) -> Void)?) {
        self.config = config
        self.database = database
        self.echo = echo
    }

    /// A checked deployment, ready to run.
    public struct Plan: Sendable {
        /// The project.
        public var project: ProjectConfig
        /// Its deploy section.
        public var deploy: DeployConfig
        /// The targets to take, in config order.
        public var targets: [DeployTargetConfig]
        /// The build.
        public var build: BuildRecord
        /// The binary deployed.
        public var artifact: ArtifactRecord
    }

    /// Checks a request: the project deploys, the targets exist, the build succeeded and its
    /// binary is on disk with the sha256 recorded at build time. Nothing is recorded yet.
    public func plan(project name: String, build id: Int64?, targets only: [String]?) throws -> Plan {
        let project = try config.project(name)
        let deploy = try project.deploySection()
        let targets = try only.map { try $0.map { try deploy.target($0, project: name) } } ?? deploy.targets
        let build: BuildRecord
        if let id {
            guard let found = try database.build(id) else {
                throw GobayError("build #\(id) does not exist", hint: "`gobay builds --project \(name)` lists them", kind: .notFound)
            }
            guard found.project == name else {
                throw GobayError("build #\(id) is a build of \(found.project), not \(name)", kind: .unprocessable)
            }
            build = found
        } else {
            guard let newest = try database.newestSuccessfulBuild(project: name) else {
                throw GobayError(
                    "project \"\(name)\" has no successful build to deploy", hint: "run `gobay build \(name)` first",
                    kind: .unprocessable)
            }
            build = newest
        }
        guard build.status == .succeeded else {
            throw GobayError("build #\(build.id) \(build.status.rawValue); only a successful build is deployed", kind: .unprocessable)
        }
        let binaries = build.artifacts.filter { $0.name != "junit.xml" && $0.goos == "linux" }
        guard let artifact = binaries.first(where: { $0.name == project.output }) ?? binaries.first else {
            throw GobayError("build #\(build.id) has no linux binary to deploy", kind: .unprocessable)
        }
        let actual: String
        do {
            actual = try FileDigest.sha256(path: artifact.path)
        } catch {
            throw GobayError(
                "build #\(build.id): its binary \(artifact.path) cannot be read", hint: "it may have been pruned; build again",
                kind: .unprocessable)
        }
        guard actual == artifact.sha256 else {
            throw GobayError(
                "build #\(build.id): \(artifact.name) on disk has sha256 \(actual), not the \(artifact.sha256) recorded when it was built; refusing to deploy it",
                hint: "the artifact was changed after its build; build again", kind: .failure)
        }
        return Plan(project: project, deploy: deploy, targets: targets, build: build, artifact: artifact)
    }

    /// The variable set in the environment of every process a deployment starts (ssh,
    /// local commands) to `<owner>:<deployment id>`.
    public static let markerVariable = "GOBAY_DEPLOY"

    /// Marks `interrupted` the unfinished deployments whose gobay process has died, and kills
    /// what they left running (an ssh master, an upload), found by the marker in its environment.
    @discardableResult
    public static func reapInterrupted(database: AppDatabase, dataDir: String) throws -> [Int64] {
        let dead = try database.reapInterruptedDeployments { ProcessOwner.isAlive($0, dataDir: dataDir) }
        for (id, owner) in dead {
            ProcessRunner.killProcesses(withEnvironmentEntry: "\(markerVariable)=\(owner):\(id)")
        }
        return dead.map(\.id)
    }

    /// Records and runs the deployment to its end; returns the final record.
    public func run(_ plan: Plan, trigger: String) async throws -> DeploymentRecord {
        try await run(plan, id: try record(plan, trigger: trigger))
    }

    /// Records the deployment, queued; returns its id.
    public func record(_ plan: Plan, trigger: String) throws -> Int64 {
        let owner = try ProcessOwner.current(dataDir: config.dataDir)
        return try database.createDeployment(
            project: plan.project.name, build: plan.build.id, strategy: plan.deploy.strategy, trigger: trigger,
            owner: owner.token, targets: plan.targets.map(\.name))
    }

    /// Runs the recorded deployment `id` to its end; returns the final record.
    public func run(_ plan: Plan, id: Int64) async throws -> DeploymentRecord {
        let path = config.data.deploymentLog(id)
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let log = try BuildLog(path: path, secrets: config.secretValues(), echo: echo)
        try database.startDeployment(id)
        log.write(
            "gobay",
            "deployment #\(id): \(plan.project.name) build #\(plan.build.id) (\(plan.build.commit.prefix(12))) "
                + "to \(plan.targets.map(\.name).joined(separator: ", ")), \(plan.deploy.strategy.rawValue)")
        let results = await runStrategy(plan, id: id, log: log)
        let status = Self.overall(results.map(\.status), strategy: plan.deploy.strategy)
        let failures = results.compactMap { r in r.error.map { "\(r.target): \($0)" } }
        let error = failures.isEmpty ? nil : failures.joined(separator: "; ")
        log.write("gobay", "deployment #\(id) \(status.rawValue)" + (error.map { ": \($0)" } ?? ""))
        try database.finishDeployment(id, status: status, error: error)
        log.close()
        guard let record = try database.deployment(id) else { throw GobayError.failure("deployment #\(id) vanished") }
        return record
    }

    /// One target's result.
    struct Result: Sendable {
        var target: String
        var status: DeployStatus
        var error: String?
    }

    private func runStrategy(_ plan: Plan, id: Int64, log: BuildLog) async -> [Result] {
        let targets = plan.targets
        func all(_ batch: [DeployTargetConfig]) async -> [Result] {
            await withTaskGroup(of: Result.self) { group in
                for target in batch { group.addTask { await deployTarget(target, plan, id: id, log: log) } }
                var results: [Result] = []
                for await result in group { results.append(result) }
                return results
            }
        }
        var results: [Result] = []
        switch plan.deploy.strategy {
        case .parallel:
            results = await all(targets)
        case .serial, .canary:
            let first = plan.deploy.strategy == .canary ? 1 : targets.count
            for target in targets.prefix(first) {
                let result = await deployTarget(target, plan, id: id, log: log)
                results.append(result)
                if result.status != .succeeded { break }
            }
            if results.allSatisfy({ $0.status == .succeeded }) && results.count < targets.count {
                results += await all(Array(targets.dropFirst(results.count)))
            }
        }
        for target in targets where !results.contains(where: { $0.target == target.name }) {
            log.write(target.name, "skipped: an earlier target failed")
            try? database.finishDeploymentTarget(id, target: target.name, status: .skipped, error: nil)
            results.append(Result(target: target.name, status: .skipped))
        }
        return targets.compactMap { t in results.first { $0.target == t.name } }
    }

    /// The deployment's status from its targets'.
    static func overall(_ statuses: [DeployStatus], strategy: DeployConfig.Strategy) -> DeployStatus {
        if statuses.allSatisfy({ $0 == .succeeded }) { return .succeeded }
        if strategy == .parallel && statuses.contains(.succeeded) { return .partial }
        if statuses.contains(.rolledBack) { return .rolledBack }
        return .failed
    }

    /// Takes the target's lock, connects, and runs its steps; every error ends up in the result.
    private func deployTarget(_ target: DeployTargetConfig, _ plan: Plan, id: Int64, log: BuildLog) async -> Result {
        let name = target.name
        do {
            let lock = try FileLock(path: config.data.deployLock(project: plan.project.name, target: name))
            if !lock.tryLockExclusive() {
                log.write(name, "waiting for another deployment of \(plan.project.name) to \(name)")
                guard await lock.lock(shared: false, deadline: nil) else {
                    throw GobayError("target \(name): canceled while waiting for another deployment", kind: .failure)
                }
            }
            defer { lock.unlock() }
            let steps = TargetDeploy(target: target, plan: plan, deployment: id, database: database, log: log)
            let owner = try ProcessOwner.current(dataDir: config.dataDir)
            let marker = [Self.markerVariable: "\(owner.token):\(id)"]
            let outcome: (DeployStatus, String?)
            if target.isLocal {
                outcome = try await steps.run(LocalTransport(marker: marker))
            } else {
                log.write(name, "connecting to \(target.user.map { "\($0)@" } ?? "")\(target.host ?? ""):\(target.port)")
                outcome = try await SSHTransport.withConnection(
                    target, marker: marker, opening: steps.openingParts, deadline: nil, log: { log.write(name, $0) }
                ) { transport, opened in
                    try await steps.run(transport, opened: opened)
                }
            }
            try database.finishDeploymentTarget(id, target: name, status: outcome.0, error: outcome.1)
            return Result(target: name, status: outcome.0, error: outcome.1)
        } catch {
            let message = SecretMask.urlPasswords(userMessage(error))
            log.write(name, "failed: \(message)")
            try? database.finishDeploymentTarget(id, target: name, status: .failed, error: message)
            return Result(target: name, status: .failed, error: message)
        }
    }
}

extension AppDatabase {
    /// The newest successful build of `project`, with its artifacts.
    public func newestSuccessfulBuild(project: String) throws -> BuildRecord? {
        let id = try writer.read { db in
            try Int64.fetchOne(
                db, sql: "SELECT id FROM build WHERE project = ? AND status = 'succeeded' ORDER BY id DESC LIMIT 1",
                arguments: [project])
        }
        return try id.flatMap { try build($0) }
    }
}

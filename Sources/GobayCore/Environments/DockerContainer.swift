import Foundation

/// The long-lived container of one docker environment: created, recreated on a config change,
/// restarted when stopped or dead, and removed on request.
public struct DockerContainer: Sendable {
    let executor: DockerExecutor

    /// The container for the executor of `environment`.
    public init(environment: Environment, dataDir: String) {
        executor = DockerExecutor(environment: environment, dataDir: dataDir)
    }

    init(executor: DockerExecutor) { self.executor = executor }

    /// The container's name.
    public var name: String { executor.containerName }

    /// What `ensureRunning` did.
    public enum Action: String, Sendable {
        case created, recreated, started, running
    }

    /// Makes sure the container exists with the current config and is running.
    @discardableResult
    public func ensureRunning() throws -> Action {
        let hash = executor.configHash()
        let lock = try FileLock(path: DataDirectory(executor.dataDir).dockerLock(executor.environment.name))
        lock.lockExclusive()
        defer { lock.unlock() }
        let state = try inspect()
        switch state {
        case nil:
            try retireLegacyContainer()
            try create(hash: hash)
            return .created
        case let (status, label)? where label != hash:
            _ = status
            try Docker.run(["rm", "-f", name])
            try create(hash: hash)
            return .recreated
        case let (status, _)? where status != "running":
            do {
                try Docker.run(["start", name])
            } catch is DockerError {
                try Docker.run(["rm", "-f", name])
                try create(hash: hash)
                return .recreated
            }
            return .started
        default:
            return .running
        }
    }

    /// Removes the container; false when there was none.
    @discardableResult
    public func remove() throws -> Bool {
        guard try inspect() != nil else { return false }
        try Docker.run(["rm", "-f", name])
        return true
    }

    /// The container's state and config-hash label, or nil when it does not exist.
    public func inspect() throws -> (status: String, hash: String)? {
        if let fast = try? DockerEngine.inspectContainer(name) { return fast }
        do {
            let out = try Docker.run([
                "inspect", "--type", "container", "--format",
                "{{.State.Status}} {{index .Config.Labels \"gobay.config-hash\"}}", name,
            ])
            let parts = out.split(separator: " ", maxSplits: 1).map(String.init)
            return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
        } catch let error as DockerError where error.stderr.contains("No such") {
            return nil
        }
    }

    /// Containers used to be named `gobay-<env>` on every data dir. One of this data dir's (its
    /// /go mount is this environment's directory) is removed once, to be made again under the new
    /// name; another data dir's is left alone.
    private func retireLegacyContainer() throws {
        let legacy = executor.legacyContainerName
        guard let mounts = try? Docker.run([
            "inspect", "--type", "container", "--format", "{{range .Mounts}}{{.Source}}={{.Destination}};{{end}}", legacy,
        ])
        else { return }
        let ours = mounts.split(separator: ";").contains { $0 == "\(executor.environment.dir)=\(Environment.isolatedRoot)" }
        if ours { try Docker.run(["rm", "-f", legacy]) }
    }

    private func create(hash: String) throws {
        guard let image = executor.environment.config.image else {
            throw GobayError("environment \"\(executor.environment.name)\" has no image")
        }
        try FileManager.default.createDirectory(atPath: DataDirectory(executor.dataDir).git, withIntermediateDirectories: true)
        // The environment (GOPATH, caches, HOME) belongs to the user steps run as.
        if let user = executor.stepUser {
            try Ownership.hand([executor.environment.dir] + (executor.environment.config.gocache.map { [$0] } ?? []), to: user)
        }
        var argv = ["run", "-d", "--name", name, "--label", "gobay.env=\(executor.environment.name)"]
        argv += ["--label", "gobay.data-dir=\(executor.dataDir)"]
        argv += ["--label", "gobay.config-hash=\(hash)"]
        argv += executor.createArguments()
        argv += [image, "sleep", "infinity"]
        do {
            try Docker.run(argv)
        } catch let error as DockerError {
            throw GobayError.failure(
                "cannot create container \(name) from image \(image): \(error.stderr)",
                hint: error.stderr.contains("No such image") || error.stderr.contains("pull access denied")
                    ? "make the image available locally (docker pull or docker import)" : nil)
        }
    }
}

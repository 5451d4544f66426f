import Foundation
import GobayCore

/// A gobay setup for the systemd deploy tests: `DeployWorld`'s Go HTTP service (`api`, module mode
/// on Go 1.22), deployed over SSH to one `SystemdTarget` container that restarts it as systemd unit
/// `api`.
public final class SystemdWorld: Sendable {
    /// Holds everything on this machine.
    public let sandbox: TestSandbox
    /// The service's repository.
    public let service: GitFixture
    /// The container.
    public let target: SystemdTarget
    /// The gobay.yml path.
    public let configPath: String
    /// The gobay binary on this config.
    public let gobay: GobayBinary

    /// Makes the service's repository, starts the container and writes gobay.yml.
    public init(label: String) throws {
        sandbox = try TestSandbox(label)
        service = try DeployWorld.serviceRepository(in: sandbox)
        target = try SystemdTarget(name: "web-1", sandbox: sandbox)
        configPath = sandbox.path + "/gobay.yml"
        do {
            gobay = try GobayBinary(config: configPath)
            try restart(unit: target.unit)
        } catch {
            target.stop()
            throw error
        }
    }

    /// Rewrites gobay.yml so the target restarts `unit` (one the container may not have).
    public func restart(unit: String) throws {
        let yaml = try DeployWorld.config(targets: target.targetYAML(indent: 6, unit: unit))
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Commits a release and builds it; returns the successful build.
    @discardableResult
    public func release(_ version: String, crash: Bool = false) throws -> BuildRecord {
        try service.commit(["version.go": DeployWorld.versionFile(version, crash: crash)], message: version)
        let result = try gobay.run(["build", "api", "--json"])
        guard result.status == 0 else {
            throw GobayError.failure("build of \(version) failed: \(result.stderr.suffix(2000))")
        }
        return try JSONDecoder().decode(BuildRecord.self, from: Data(result.stdout.utf8))
    }

    /// `gobay deploy ARGS --json`: the exit status and the record, when one was printed.
    public func deploy(_ args: [String] = ["api"]) throws -> (status: Int32, record: DeploymentRecord?, stderr: String)
    {
        let result = try gobay.run(["deploy"] + args + ["--json"])
        let record = try? JSONDecoder().decode(DeploymentRecord.self, from: Data(result.stdout.utf8))
        return (result.status, record, result.stderr)
    }

    /// What `/version` answers ("-" when nothing answers).
    public func version() -> String {
        target.get("/version").map { $0.status == 200 ? $0.body : "\($0.status)" } ?? "-"
    }

    /// Removes the container.
    public func stop() { target.stop() }
}

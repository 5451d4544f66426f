import Foundation
import GobayCore

/// A gobay setup for deploy tests: a Go HTTP service (`api`, module mode on Go 1.22, served by
/// supervisor as program `api`) whose releases say their version and health through a committed
/// `version.go`, and deploy targets that are real sshd + supervisord pairs (`DeployTarget`), or
/// the same supervisord reached as `host: local`.
public final class DeployWorld: Sendable {
    /// Holds everything.
    public let sandbox: TestSandbox
    /// The service's repository.
    public let service: GitFixture
    /// The targets, in config order.
    public let targets: [DeployTarget]
    /// The gobay.yml path.
    public let configPath: String
    /// The gobay binary on this config.
    public let gobay: GobayBinary
    /// Whether the targets are `host: local`.
    public let local: Bool

    /// `count` targets named web-1, web-2, …; `deploySettings` is YAML added under `deploy:`
    /// (e.g. `      strategy: parallel\n`), `projectSettings` under `projects.api`, `extra` at the
    /// end (e.g. a `server:` section); `healthPaths` gives a target another health URL path
    /// (one the service answers 404 makes that target's check fail); `sshdSettings` are more
    /// sshd_config lines of every target.
    public init(
        label: String, count: Int = 2, local: Bool = false, deploySettings: String = "", healthTimeout: String = "5s",
        projectSettings: String = "", extra: String = "", healthPaths: [String: String] = [:], commands: Bool = false,
        sshdSettings: [String] = []
    ) throws {
        sandbox = try TestSandbox(label)
        self.local = local
        service = try Self.serviceRepository(in: sandbox)
        let box = sandbox
        targets = try (1...count).map { try DeployTarget(name: "web-\($0)", sandbox: box, program: "api", sshdSettings: sshdSettings) }
        let targetLines = targets.map { target in
            local
                ? Self.localYAML(target, healthTimeout: healthTimeout, commands: commands)
                : target.targetYAML(
                    indent: 6, healthPath: healthPaths[target.name] ?? "/health", healthTimeout: healthTimeout)
        }.joined()
        configPath = sandbox.path + "/gobay.yml"
        let yaml = try Self.config(
            projectSettings: projectSettings, deploySettings: deploySettings, targets: targetLines, extra: extra)
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        gobay = try GobayBinary(config: configPath)
    }

    /// The service's repository, `repos/api` in `sandbox`: `GoSources.deployService()` as a
    /// module on Go 1.22, at version v0.
    static func serviceRepository(in sandbox: TestSandbox) throws -> GitFixture {
        try GitFixture(
            path: sandbox.path + "/repos/api", branch: "master",
            files: [
                "go.mod": "module ex.com/team/api\n\ngo 1.22\n",
                "main.go": try GoSources.deployService(),
                "version.go": Self.versionFile("v0"),
            ])
    }

    /// gobay.yml for project `api` (the service) in environment `modern` (Go 1.22, the shared
    /// cache), deploying to `targets` (entries of its `targets:` list, indented by 6); the
    /// settings go inside the project and its `deploy:`, `extra` at the top level.
    static func config(projectSettings: String = "", deploySettings: String = "", targets: String, extra: String = "")
        throws -> String
    {
        """
        data_dir: data
        environments:
          modern:
            go: "1.22"
            goroot: \(TestToolchains.go122)
            gocache: \(try TestToolchains.sharedGocache(TestToolchains.go122))
        projects:
          api:
            repo: repos/api
            branch: master
            environment: modern
        \(projectSettings)    deploy:
        \(deploySettings)      targets:
        \(targets)
        \(extra)
        """
    }

    /// The version.go of a release: its version, its /health status, whether it exits at start.
    public static func versionFile(_ version: String, health: Int = 200, crash: Bool = false) -> String {
        "package main\n\nfunc init() {\n\tversion = \"\(version)\"\n\thealth = \"\(health)\"\n\tcrash = \"\(crash ? "yes" : "no")\"\n}\n"
    }

    /// A target as `host: local`: the same directory and supervisord, no SSH; with `commands`,
    /// restarted and checked by commands (`restart: { command: [...] }`, `health: { command:
    /// [...] }`) rather than by supervisor and HTTP.
    static func localYAML(_ target: DeployTarget, healthTimeout: String, commands: Bool = false) -> String {
        let restart =
            commands
            ? "{ command: [supervisorctl, -c, \(target.supervisorConfig), restart, \(target.program)] }"
            : "{ supervisor: \(target.program), config: \(target.supervisorConfig) }"
        let health =
            commands
            ? "{ command: [curl, -fsS, \"\(target.baseURL)/health\"], timeout: \(healthTimeout) }"
            : "{ http: \"\(target.baseURL)/health\", timeout: \(healthTimeout) }"
        return [
            "- name: \(target.name)",
            "  host: local",
            "  path: \(target.deployPath)",
            "  restart: \(restart)",
            "  health: \(health)",
        ].map { "      " + $0 }.joined(separator: "\n") + "\n"
    }

    /// Commits a release and builds it; returns the successful build.
    @discardableResult
    public func release(_ version: String, health: Int = 200, crash: Bool = false, extra: [String: String] = [:]) throws
        -> BuildRecord
    {
        var files = extra
        files["version.go"] = Self.versionFile(version, health: health, crash: crash)
        try service.commit(files, message: version)
        let result = try gobay.run(["build", "api", "--json"])
        guard result.status == 0 else { throw GobayError.failure("build of \(version) failed: \(result.stderr.suffix(2000))") }
        return try JSONDecoder().decode(BuildRecord.self, from: Data(result.stdout.utf8))
    }

    /// `gobay deploy ARGS --json`: the exit status and the record, when one was printed.
    public func deploy(_ args: [String]) throws -> (status: Int32, record: DeploymentRecord?, stderr: String) {
        let result = try gobay.run(["deploy"] + args + ["--json"])
        let record = try? JSONDecoder().decode(DeploymentRecord.self, from: Data(result.stdout.utf8))
        return (result.status, record, result.stderr)
    }

    /// What `/version` answers on each target ("-" when nothing answers).
    public func versions() -> [String] {
        targets.map { $0.get("/version").map { $0.status == 200 ? $0.body : "\($0.status)" } ?? "-" }
    }

    /// Stops every target.
    public func stop() { targets.forEach { $0.stop() } }
}

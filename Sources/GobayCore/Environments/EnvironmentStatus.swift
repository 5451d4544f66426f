import Foundation

/// What `gobay env list/info --json` and `GET /api/v1/environments` show of an environment:
/// its Go, executor, busy slots and (masked) variables, or the problem that keeps it from running.
public struct EnvironmentStatus: Codable, Sendable {
    /// The environment's name.
    public var name: String
    /// The Go version asked for.
    public var go: String
    /// The exact version of its toolchain, when one is installed.
    public var goVersion: String?
    /// Its GOROOT.
    public var goroot: String?
    /// host, sandbox or docker.
    public var executor: String
    /// Builds it runs at once.
    public var concurrency: Int
    /// Slots taken right now, by any gobay process.
    public var busySlots: Int
    /// `<data_dir>/envs/<name>`.
    public var dir: String
    /// The variables go processes get, secrets masked.
    public var env: [String: String]?
    /// What keeps it from running (e.g. no toolchain).
    public var error: String?
    /// Builds of the server's queue waiting here (API only).
    public var queued: Int?
    /// Builds running here (API only).
    public var running: Int?

    enum CodingKeys: String, CodingKey {
        case name, go, goroot, executor, concurrency, dir, env, error, queued, running
        case goVersion = "go_version"
        case busySlots = "busy_slots"
    }

    /// Reads the status of `config` in the data dir of `gobay`.
    public init(_ config: EnvironmentConfig, in gobay: GobayConfig) {
        name = config.name
        go = config.go.description
        executor = config.executor.rawValue
        concurrency = config.concurrency
        busySlots = EnvironmentLocks(dataDir: gobay.dataDir).busySlots(config.name, slots: config.concurrency)
        dir = gobay.data.environment(config.name)
        do {
            let environment = try gobay.resolve(config)
            goVersion = environment.toolchain.version
            goroot = environment.toolchain.goroot
            env = environment.variables(mode: nil).reduce(into: [:]) { $0[$1.key] = SecretMask.value($1.value, name: $1.key) }
        } catch {
            self.error = userMessage(error)
        }
    }
}

extension GobayConfig {
    /// The environment `config` resolved to its toolchain.
    public func resolve(_ config: EnvironmentConfig) throws -> Environment {
        Environment(config: config, toolchain: try ToolchainStore(dataDir: dataDir).resolve(for: config), dataDir: dataDir)
    }

    /// The environment named `name` resolved to its toolchain; a usage error for an unknown name.
    public func resolveEnvironment(_ name: String) throws -> Environment {
        try resolve(try environment(name))
    }
}

import Foundation

/// The resolved contents of gobay.yml.
public struct GobayConfig: Sendable, Equatable {
    /// The config file this came from (absolute path).
    public var path: String
    /// Where gobay keeps toolchains, environments, mirrors, builds and its database.
    public var dataDir: String
    /// The go.dev-style site toolchains are downloaded from.
    public var toolchainMirror: String
    /// Environments in file order.
    public var environments: [EnvironmentConfig]
    /// Projects in file order.
    public var projects: [ProjectConfig]
    /// Shared libraries placed into the GOPATH of environments, in file order.
    public var libraries: [LibraryConfig]
    /// The `server:` section.
    public var server = ServerConfig()
    /// How long builds are kept (see `retention:`).
    public var retention = RetentionConfig()

    /// The environment named `name`, or a usage error listing the known ones.
    public func environment(_ name: String) throws -> EnvironmentConfig {
        if let env = environments.first(where: { $0.name == name }) { return env }
        throw GobayError(
            "unknown environment \"\(name)\"",
            hint: "environments in \(path): \(environments.map(\.name).joined(separator: ", "))", kind: .notFound)
    }

    /// The project named `name`, or a usage error listing the known ones.
    public func project(_ name: String) throws -> ProjectConfig {
        if let project = projects.first(where: { $0.name == name }) { return project }
        let known = projects.map(\.name).joined(separator: ", ")
        throw GobayError(
            "unknown project \"\(name)\"",
            hint: known.isEmpty ? "add it under projects: in \(path)" : "projects in \(path): \(known)", kind: .notFound)
    }
}

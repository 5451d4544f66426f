import Foundation

/// A shared private library: one checkout of it in each environment it lists, at
/// `gopath/src/<import_path>`, kept at its branch head or at the environment's pin.
public struct LibraryConfig: Sendable, Equatable {
    /// Which environments hold a checkout.
    public enum Environments: Sendable, Equatable {
        /// Every configured environment.
        case all
        /// These environments, in config order.
        case named([String])
    }

    /// What a push to the library does on the server.
    public enum Rebuild: String, Sendable, Equatable {
        /// Queues one build of each dependent project.
        case dependents
        /// Updates the checkouts only.
        case none
    }

    /// The library's name.
    public var name: String
    /// Any git URL or path.
    public var repo: String
    /// The branch the checkouts follow; nil means the repository's default branch.
    public var branch: String?
    /// Where it lives under GOPATH/src; also the module path module-mode dependents require.
    public var importPath: String
    /// The environments holding a checkout.
    public var environments: Environments = .all
    /// Environment name → commit (full or abbreviated) the config holds it at.
    public var pins: [String: String] = [:]
    /// Whether module-mode dependents build against the environment's checkout (a `replace`
    /// in the build's own go.mod) rather than the version their go.mod pins.
    public var track = true
    /// What a push does on the server.
    public var rebuild: Rebuild = .dependents
    /// The secret a push to the library's repository must carry; nil: `server.webhook_secret`.
    public var webhookSecret: SecretSource?

    /// Creates a library.
    public init(
        name: String, repo: String, branch: String?, importPath: String, environments: Environments = .all,
        pins: [String: String] = [:], track: Bool = true, rebuild: Rebuild = .dependents
    ) {
        self.name = name
        self.repo = repo
        self.branch = branch
        self.importPath = importPath
        self.environments = environments
        self.pins = pins
        self.track = track
        self.rebuild = rebuild
    }

    /// Whether import path `path` is this library or a package inside it.
    public func covers(_ path: String) -> Bool { path == importPath || path.hasPrefix(importPath + "/") }

    /// The names of the environments of `config` that hold a checkout, in config order.
    public func environmentNames(in config: GobayConfig) -> [String] {
        switch environments {
        case .all: return config.environments.map(\.name)
        case .named(let names): return config.environments.map(\.name).filter(names.contains)
        }
    }

    /// Whether environment `name` holds a checkout.
    public func lists(_ name: String, in config: GobayConfig) -> Bool {
        switch environments {
        case .all: return config.environments.contains { $0.name == name }
        case .named(let names): return names.contains(name)
        }
    }
}

extension GobayConfig {
    /// The library named `name`, or a not-found error that lists the configured ones.
    public func library(_ name: String) throws -> LibraryConfig {
        if let lib = libraries.first(where: { $0.name == name }) { return lib }
        let known = libraries.map(\.name).joined(separator: ", ")
        throw GobayError(
            "unknown library \"\(name)\"",
            hint: known.isEmpty ? "add it under libraries: in \(path)" : "configured libraries: \(known)", kind: .notFound)
    }
}

import Foundation

/// A project's `deploy:` section: where its binary goes after a build, and how.
public struct DeployConfig: Sendable, Equatable {
    /// How the targets are taken.
    public enum Strategy: String, Sendable, Codable, CaseIterable {
        /// One target after another; the first failure stops the deployment.
        case serial
        /// Every target at once; the targets that succeed keep the release.
        case parallel
        /// The first target alone, then the rest at once.
        case canary
    }

    /// Branches the server deploys by itself after a successful build.
    public var on: [String] = []
    /// How the targets are taken.
    public var strategy: Strategy = .serial
    /// Releases kept on each target (never fewer than the current and the previous one).
    public var keep = 5
    /// The targets, in config order.
    public var targets: [DeployTargetConfig] = []

    /// Creates a deploy section.
    public init(on: [String] = [], strategy: Strategy = .serial, keep: Int = 5, targets: [DeployTargetConfig] = []) {
        self.on = on
        self.strategy = strategy
        self.keep = keep
        self.targets = targets
    }

    /// The target named `name`, or a not-found error listing the configured ones.
    public func target(_ name: String, project: String) throws -> DeployTargetConfig {
        if let target = targets.first(where: { $0.name == name }) { return target }
        throw GobayError(
            "project \"\(project)\" has no deploy target \"\(name)\"",
            hint: "its targets: \(targets.map(\.name).joined(separator: ", "))", kind: .notFound)
    }
}

/// One server a project deploys to.
public struct DeployTargetConfig: Sendable, Equatable {
    /// How the program is restarted.
    public enum Restart: Sendable, Equatable {
        /// `supervisorctl [-c config] restart PROGRAM`, then RUNNING past its startsecs.
        case supervisor(program: String, config: String?)
        /// `systemctl reset-failed UNIT` and `systemctl restart UNIT`; the unit's program must not
        /// stop before the health check passes.
        case systemd(unit: String)
        /// This argument vector, run on the target.
        case command([String])
    }

    /// How the new release is checked.
    public enum Health: Sendable, Equatable {
        /// An HTTP GET from gobay's machine that must answer 2xx.
        case http(url: String, timeout: TimeInterval)
        /// An argument vector run on the target that must exit 0.
        case command([String], timeout: TimeInterval)

        /// How long the check is retried.
        public var timeout: TimeInterval {
            switch self {
            case .http(_, let timeout), .command(_, let timeout): timeout
            }
        }
    }

    /// The target's name, unique in the project.
    public var name: String
    /// The host; nil for `host: local` (this machine, no SSH).
    public var host: String?
    /// The SSH port.
    public var port = 22
    /// The SSH user; nil: ssh's default.
    public var user: String?
    /// The private key file (by path; never read by gobay).
    public var identityFile: String?
    /// The known_hosts file the host key is checked against, strictly.
    public var knownHosts: String?
    /// The absolute directory holding `releases/` and `current`.
    public var path: String
    /// How the program restarts.
    public var restart: Restart
    /// How the release is checked; nil: no check.
    public var health: Health?

    /// Creates a target.
    public init(
        name: String, host: String?, port: Int = 22, user: String? = nil, identityFile: String? = nil,
        knownHosts: String? = nil, path: String, restart: Restart, health: Health? = nil
    ) {
        self.name = name
        self.host = host
        self.port = port
        self.user = user
        self.identityFile = identityFile
        self.knownHosts = knownHosts
        self.path = path
        self.restart = restart
        self.health = health
    }

    /// Whether it is this machine (no SSH).
    public var isLocal: Bool { host == nil }
}

extension ProjectConfig {
    /// The project's deploy section, or a usage error when it has none.
    public func deploySection() throws -> DeployConfig {
        guard let deploy, !deploy.targets.isEmpty else {
            throw GobayError(
                "project \"\(name)\" has no deploy targets", hint: "add deploy: { targets: [...] } to projects.\(name)",
                kind: .unprocessable)
        }
        return deploy
    }
}

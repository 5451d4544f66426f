import Foundation

/// Who may trigger builds through webhooks: each project's secret (written, read from the
/// environment, or explicitly none) and the global one. It decides which projects a delivery is
/// trusted for; it knows nothing of HTTP.
public struct WebhookTrust: Sendable {
    /// `server.webhook_secret`, resolved.
    public let globalSecret: String?
    /// Each project's `webhook_secret:` as written.
    public let projectSecrets: [String: SecretSource]
    /// Each project's secret value, for those that have one.
    public let resolvedProjectSecrets: [String: String]
    /// Each library's `webhook_secret:` as written.
    public let librarySecrets: [String: SecretSource]
    /// Each library's secret value, for those that have one.
    public let resolvedLibrarySecrets: [String: String]

    /// Resolves the secrets `config` names from `environment`; throws naming a variable that is not set.
    public init(config: GobayConfig, environment: [String: String]) throws {
        globalSecret = try config.server.webhookSecret?.resolve(environment, what: "server.webhook_secret")
        (projectSecrets, resolvedProjectSecrets) = try Self.resolve(
            config.projects.map { ($0.name, $0.webhookSecret) }, section: "projects", environment)
        (librarySecrets, resolvedLibrarySecrets) = try Self.resolve(
            config.libraries.map { ($0.name, $0.webhookSecret) }, section: "libraries", environment)
    }

    /// Each name's `webhook_secret:` as written, and the values of those that have one.
    private static func resolve(
        _ named: [(String, SecretSource?)], section: String, _ environment: [String: String]
    ) throws -> ([String: SecretSource], [String: String]) {
        var sources: [String: SecretSource] = [:]
        var resolved: [String: String] = [:]
        for (name, source) in named {
            guard let source else { continue }
            sources[name] = source
            if let value = try source.resolve(environment, what: "\(section).\(name).webhook_secret") { resolved[name] = value }
        }
        return (sources, resolved)
    }

    /// The libraries among `libraries` whose secret (their own, else the global one) verifies
    /// the delivery, or that take hooks unverified. A project's secret never moves a library.
    public func trusted(
        sender: WebhookSender, headers: [String: String], body: Data, libraries: [LibraryConfig]
    ) -> [LibraryConfig] {
        libraries.filter { library in
            if librarySecrets[library.name] == SecretSource.none { return true }
            guard let secret = resolvedLibrarySecrets[library.name] ?? globalSecret else { return false }
            return WebhookVerifier.verify(sender: sender, headers: headers, body: body, secrets: [secret])
        }
    }

    /// The projects among `projects` whose secret verifies the delivery (or that take hooks
    /// unverified); an empty list when only the global secret verifies it; nil when nothing does.
    public func trusted(
        sender: WebhookSender, headers: [String: String], body: Data, projects: [ProjectConfig]
    ) -> [ProjectConfig]? {
        var trusted: [ProjectConfig] = []
        for project in projects {
            if projectSecrets[project.name] == SecretSource.none {
                trusted.append(project)
                continue
            }
            guard let secret = resolvedProjectSecrets[project.name] ?? globalSecret else { continue }
            if WebhookVerifier.verify(sender: sender, headers: headers, body: body, secrets: [secret]) {
                trusted.append(project)
            }
        }
        if !trusted.isEmpty { return trusted }
        if let globalSecret, WebhookVerifier.verify(sender: sender, headers: headers, body: body, secrets: [globalSecret]) {
            return []
        }
        return nil
    }

    /// Whether the delivery carries the secret `trustedBy` names ("" the global one,
    /// "project:<name>", "library:<name>"; `none` trusts without one): a redelivery is checked
    /// against the secret that verified it first, with no matching.
    public func verifies(sender: WebhookSender, headers: [String: String], body: Data, trustedBy: String) -> Bool {
        let source: SecretSource?
        let value: String?
        if trustedBy.hasPrefix("project:") {
            let name = String(trustedBy.dropFirst("project:".count))
            (source, value) = (projectSecrets[name], resolvedProjectSecrets[name])
        } else if trustedBy.hasPrefix("library:") {
            let name = String(trustedBy.dropFirst("library:".count))
            (source, value) = (librarySecrets[name], resolvedLibrarySecrets[name])
        } else {
            (source, value) = (nil, nil)
        }
        if source == SecretSource.none { return true }
        guard let secret = value ?? globalSecret else { return false }
        return WebhookVerifier.verify(sender: sender, headers: headers, body: body, secrets: [secret])
    }

    /// Whether no secret at all is configured, so every signed hook is refused (the hint says so).
    public var isUnconfigured: Bool {
        globalSecret == nil && resolvedProjectSecrets.isEmpty && !projectSecrets.values.contains(.none)
            && resolvedLibrarySecrets.isEmpty && !librarySecrets.values.contains(.none)
    }

    /// Every secret value, for masking.
    public var values: [String] {
        [globalSecret].compactMap { $0 } + resolvedProjectSecrets.values + resolvedLibrarySecrets.values
    }
}

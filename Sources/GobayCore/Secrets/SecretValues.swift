import Foundation

/// The secret values gobay knows (webhook secrets, API tokens, status tokens, values read with
/// `{env: …}`, and values of `env:` keys that look secret), masked as `***` wherever they appear
/// in a build log, as GitLab and GitHub Actions mask theirs.
public struct SecretValues: Sendable {
    /// Values shorter than this are not masked: masking "1" would hide every digit of a log.
    public static let minimumLength = 4
    private let values: [String]

    /// Keeps the values long enough to mask, longest first (so a secret that contains another is
    /// masked whole).
    public init(_ values: [String]) {
        self.values = Set(values.filter { $0.count >= Self.minimumLength }).sorted { $0.count > $1.count }
    }

    /// Whether there is nothing to mask.
    public var isEmpty: Bool { values.isEmpty }

    /// `text` with every secret value replaced by `***`.
    public func mask(_ text: String) -> String {
        var out = text
        for value in values where out.contains(value) {
            out = out.replacingOccurrences(of: value, with: "***")
        }
        return out
    }
}

extension GobayConfig {
    /// Every secret value this config names, read from `environment` where it says `{env: …}`.
    public func secretValues(environment: [String: String] = ProcessInfo.processInfo.environment) -> SecretValues {
        var found: [String] = []
        func add(_ source: SecretSource?) {
            switch source {
            case .literal(let value)?: found.append(value)
            case .environment(let name)?: if let value = environment[name] { found.append(value) }
            default: break
            }
        }
        add(server.webhookSecret)
        for token in server.tokens {
            if case .environment(let name) = token, let value = environment[name] { found.append(value) }
        }
        for project in projects {
            add(project.webhookSecret)
            for tokenEnv in [project.status.gitlab?.tokenEnv, project.status.github?.tokenEnv].compactMap({ $0 }) {
                if let value = environment[tokenEnv] { found.append(value) }
            }
        }
        for project in projects {
            for (key, source) in project.env {
                switch source {
                // Everything read from gobay's environment is masked; a literal when its name says secret.
                case .environment(let name): if let value = environment[name] { found.append(value) }
                case .literal(let value) where SecretMask.looksSecret(key): found.append(value)
                default: break
                }
            }
        }
        for env in environments {
            for (key, value) in env.env where SecretMask.looksSecret(key) {
                found.append(value)
            }
        }
        return SecretValues(found)
    }
}

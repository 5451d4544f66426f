import Foundation

extension ProjectConfig {
    /// The project's `env:` with `{env: NAME}` read from `environment`; throws naming an unset one.
    public func resolvedEnv(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> [String: String]
    {
        var resolved: [String: String] = [:]
        for (key, source) in env {
            resolved[key] = try source.resolve(environment, what: "projects.\(name).env.\(key)") ?? ""
        }
        return resolved
    }
}

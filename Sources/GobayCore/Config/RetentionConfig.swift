import Foundation
import Yams

/// How long builds are kept (`retention:`, globally and per project; a project's keys win).
/// Nothing is pruned unless one of the limits is set.
public struct RetentionConfig: Sendable, Equatable {
    /// Keep at most this many ended builds per project.
    public var keepBuilds: Int?
    /// Keep no ended build older than this many days.
    public var keepDays: Int?
    /// Keep at most this many ended builds per project that did not succeed.
    public var keepFailed: Int?
    /// How often the server prunes (global only; default one hour).
    public var interval: TimeInterval = 3600

    /// Creates a policy.
    public init(keepBuilds: Int? = nil, keepDays: Int? = nil, keepFailed: Int? = nil) {
        self.keepBuilds = keepBuilds
        self.keepDays = keepDays
        self.keepFailed = keepFailed
    }

    /// Whether any limit is set.
    public var isActive: Bool { keepBuilds != nil || keepDays != nil || keepFailed != nil }

    /// This policy with `override`'s keys taking precedence.
    public func overridden(by override: RetentionConfig?) -> RetentionConfig {
        guard let override else { return self }
        var merged = self
        merged.keepBuilds = override.keepBuilds ?? keepBuilds
        merged.keepDays = override.keepDays ?? keepDays
        merged.keepFailed = override.keepFailed ?? keepFailed
        return merged
    }

    /// Parses a `retention:` mapping (`interval` only where `global`).
    static func parse(_ node: Node, at path: String, _ r: YAMLReader, global: Bool) throws -> RetentionConfig {
        var config = RetentionConfig()
        let allowed = ["keep_builds", "keep_days", "keep_failed"] + (global ? ["interval"] : [])
        for (key, _, value) in try r.mapping(node, at: path, allowed: Set(allowed)) {
            switch key {
            case "keep_builds": config.keepBuilds = try r.int(value, at: "\(path).\(key)", min: 1)
            case "keep_days": config.keepDays = try r.int(value, at: "\(path).\(key)", min: 1)
            case "keep_failed": config.keepFailed = try r.int(value, at: "\(path).\(key)", min: 0)
            case "interval": config.interval = try r.duration(value, at: "\(path).\(key)")
            default: break
            }
        }
        return config
    }
}

import Foundation

/// Where a deployment, or one target of it, stands.
public enum DeployStatus: String, Sendable, Codable, CaseIterable {
    /// Recorded, not started.
    case queued
    /// Under way.
    case running
    /// Every target runs the new release and passed its health check.
    case succeeded
    /// It stopped with the target's `current` unchanged, or no previous release to go back to.
    case failed
    /// The new release failed; the target runs the previous one again.
    case rolledBack = "rolled_back"
    /// `parallel`: some targets run the new release, others went back.
    case partial
    /// A target not touched, because an earlier one failed (`serial`, `canary`).
    case skipped
    /// The gobay process running it died.
    case interrupted

    /// Whether it has ended.
    public var isFinal: Bool { self != .queued && self != .running }
}

/// One target of a deployment.
public struct DeploymentTargetRecord: Sendable, Codable, Equatable {
    /// The target's name.
    public var target: String
    /// Where it stands.
    public var status: DeployStatus
    /// The release that was current before (a build id), if any.
    public var previousRelease: Int64?
    /// The release deployed (a build id).
    public var newRelease: Int64
    /// When the target's steps started and ended.
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Why it did not succeed.
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case target, status, error
        case previousRelease = "previous_release"
        case newRelease = "new_release"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }
}

/// A deployment: one build to a project's targets, with a strategy.
public struct DeploymentRecord: Sendable, Codable, Equatable {
    /// Its id.
    public var id: Int64
    /// The project deployed.
    public var project: String
    /// The build deployed (also the release's name on each target).
    public var build: Int64
    /// How the targets were taken.
    public var strategy: DeployConfig.Strategy
    /// Where it stands.
    public var status: DeployStatus
    /// What started it: cli, api, webhook (after a build of a branch in `on`), rollback.
    public var trigger: String
    /// When it was asked for, started and ended.
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Why it did not succeed, target by target.
    public var error: String?
    /// Its targets, in config order.
    public var targets: [DeploymentTargetRecord]

    enum CodingKeys: String, CodingKey {
        case id, project, build, strategy, status, trigger, error, targets
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }
}

extension DeploymentTargetRecord {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        target = try c.decode(String.self, forKey: .target)
        status = try c.decode(DeployStatus.self, forKey: .status)
        previousRelease = try c.decodeIfPresent(Int64.self, forKey: .previousRelease)
        newRelease = try c.decode(Int64.self, forKey: .newRelease)
        startedAt = try c.decodeTimestampIfPresent(forKey: .startedAt)
        finishedAt = try c.decodeTimestampIfPresent(forKey: .finishedAt)
        error = try c.decodeIfPresent(String.self, forKey: .error)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(target, forKey: .target)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(previousRelease, forKey: .previousRelease)
        try c.encode(newRelease, forKey: .newRelease)
        try c.encodeIfPresent(startedAt.map(Timestamp.string), forKey: .startedAt)
        try c.encodeIfPresent(finishedAt.map(Timestamp.string), forKey: .finishedAt)
        try c.encodeIfPresent(error, forKey: .error)
    }
}

extension DeploymentRecord {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int64.self, forKey: .id)
        project = try c.decode(String.self, forKey: .project)
        build = try c.decode(Int64.self, forKey: .build)
        strategy = try c.decode(DeployConfig.Strategy.self, forKey: .strategy)
        status = try c.decode(DeployStatus.self, forKey: .status)
        trigger = try c.decode(String.self, forKey: .trigger)
        createdAt = try c.decodeTimestamp(forKey: .createdAt)
        startedAt = try c.decodeTimestampIfPresent(forKey: .startedAt)
        finishedAt = try c.decodeTimestampIfPresent(forKey: .finishedAt)
        error = try c.decodeIfPresent(String.self, forKey: .error)
        targets = try c.decode([DeploymentTargetRecord].self, forKey: .targets)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(project, forKey: .project)
        try c.encode(build, forKey: .build)
        try c.encode(strategy, forKey: .strategy)
        try c.encode(status, forKey: .status)
        try c.encode(trigger, forKey: .trigger)
        try c.encode(Timestamp.string(createdAt), forKey: .createdAt)
        try c.encodeIfPresent(startedAt.map(Timestamp.string), forKey: .startedAt)
        try c.encodeIfPresent(finishedAt.map(Timestamp.string), forKey: .finishedAt)
        try c.encodeIfPresent(error, forKey: .error)
        try c.encode(targets, forKey: .targets)
    }
}

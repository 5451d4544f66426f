import Foundation

/// A build as stored in the history and printed by `--json`.
public struct BuildRecord: Sendable, Codable, Equatable {
    /// The build's number.
    public var id: Int64
    /// The project's name.
    public var project: String
    /// The environment it runs in; nil until the build is planned.
    public var environment: String?
    /// The exact Go version used; nil until the build is planned.
    public var goVersion: String?
    /// The full commit id.
    public var commit: String
    /// The ref asked for (branch, tag or full ref), or the commit when built by id.
    public var ref: String
    /// Where it stands.
    public var status: BuildStatus
    /// When it was queued.
    public var createdAt: Date
    /// When it started, nil while queued.
    public var startedAt: Date?
    /// When it ended, nil until it ends.
    public var finishedAt: Date?
    /// Why it failed, when it did.
    public var error: String?
    /// Its artifacts.
    public var artifacts: [ArtifactRecord]
    /// Its steps.
    public var steps: [StepRecord]
    /// What started it.
    public var trigger: Trigger = .cli
    /// The build this one re-runs after an interruption.
    public var retryOf: Int64?
    /// What its tests did, when it ran them.
    public var tests: TestSummary?
    /// Library name → the commit the build compiled against (empty when it imports none; nil
    /// until its deps step ran).
    public var libraries: [String: String]?
    /// The library push that queued it, for trigger `library`.
    public var cause: LibraryCause?

    enum CodingKeys: String, CodingKey {
        case id, project, environment, commit, ref, status, error, artifacts, steps, trigger, tests, libraries, cause
        case retryOf = "retry_of"
        case goVersion = "go_version"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }

    /// The build's duration in seconds, once started.
    public var duration: TimeInterval? {
        guard let startedAt else { return nil }
        return (finishedAt ?? Date()).timeIntervalSince(startedAt)
    }
}

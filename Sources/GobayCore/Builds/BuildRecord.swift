import Foundation

/// The states a build moves through.
public enum BuildStatus: String, Sendable, Codable, CaseIterable {
    case queued, running, succeeded, failed, canceled
    case timedOut = "timed_out"
    case interrupted
    /// A newer push to the same branch replaced it while it waited.
    case superseded

    /// Whether the build has ended.
    public var isFinal: Bool { self != .queued && self != .running }
}

/// One stored build artifact.
public struct ArtifactRecord: Sendable, Codable, Equatable {
    /// The file name under the build's artifacts dir.
    public var name: String
    /// The absolute path.
    public var path: String
    /// The hex SHA-256 of the file.
    public var sha256: String
    /// Its size in bytes.
    public var size: Int64
    /// The GOOS it was built for.
    public var goos: String
    /// The GOARCH it was built for.
    public var goarch: String
}

/// One step of a build and how it went.
public struct StepRecord: Sendable, Codable, Equatable {
    /// fetch, deps, test, build or artifacts.
    public var name: String
    /// Where it stands.
    public var status: StepStatus
    /// When it started.
    public var startedAt: Date
    /// When it ended, nil while running.
    public var finishedAt: Date?

    enum CodingKeys: String, CodingKey {
        case name, status
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }
}

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

    enum CodingKeys: String, CodingKey {
        case id, project, environment, commit, ref, status, error, artifacts, steps, trigger, tests
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

import Foundation

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

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

/// How a step of a build stands.
public enum StepStatus: String, Sendable, Codable, CaseIterable {
    case running, succeeded, failed, canceled
    case timedOut = "timed_out"
    case interrupted

    /// The status a step still running ends in when its build ends in `status`.
    public init(endingWith status: BuildStatus) {
        switch status {
        case .succeeded: self = .succeeded
        case .canceled, .superseded: self = .canceled
        case .timedOut: self = .timedOut
        case .interrupted: self = .interrupted
        case .queued, .running, .failed: self = .failed
        }
    }
}

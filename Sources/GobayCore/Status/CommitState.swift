/// The states gobay reports on a commit.
public enum CommitState: String, Sendable {
    case pending, running, success, failed, canceled

    /// The state for a finished build.
    public init(_ status: BuildStatus) {
        switch status {
        case .succeeded: self = .success
        case .canceled, .superseded: self = .canceled
        case .queued: self = .pending
        case .running: self = .running
        case .failed, .timedOut, .interrupted: self = .failed
        }
    }

    /// The name GitHub's status API uses: it has no `running`, and `error` for a canceled build.
    var github: String {
        switch self {
        case .pending, .running: return "pending"
        case .success: return "success"
        case .failed: return "failure"
        case .canceled: return "error"
        }
    }
}

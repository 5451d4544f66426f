import Foundation

/// How a process ended.
public struct ProcessOutcome: Sendable {
    /// The exit status, or 128+signal when it was killed by a signal.
    public var status: Int32
    /// Whether the deadline passed and the process group was killed.
    public var timedOut: Bool
    /// Whether the task running it was cancelled and the process group was killed.
    public var canceled: Bool
    /// Whether it exited with status 0 on its own.
    public var succeeded: Bool { status == 0 && !timedOut && !canceled }
}

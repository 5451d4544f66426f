import Foundation

/// Marks every process of one command with `GOBAY_STEP=<id>` in its environment. Killing a process
/// group misses what left it (setsid, a double fork, or anything inside a container that a killed
/// `docker exec` client leaves behind), but not what carries the marker: every executor finishes
/// a canceled or timed-out command with `killLeftovers()`.
struct StepMarker {
    /// The variable's name.
    static let variable = "GOBAY_STEP"
    /// This command's value.
    let value = "gobay-step-" + UUID().uuidString.lowercased()

    /// `environment` with the marker added.
    func marking(_ environment: [String: String]) -> [String: String] {
        var env = environment
        env[Self.variable] = value
        return env
    }

    /// After a command ended by timeout or cancel, kills every process still carrying the marker
    /// and waits until none is left.
    func killLeftovers(after outcome: ProcessOutcome) {
        guard outcome.canceled || outcome.timedOut else { return }
        ProcessRunner.killProcesses(withEnvironmentEntry: "\(Self.variable)=\(value)")
    }
}

import Foundation

/// Marks every process of one command with `GOBAY_STEP=<id>` in its environment. Killing a process
/// group misses what left it (setsid, a double fork, or anything inside a container that a killed
/// `docker exec` client leaves behind), but not what carries the marker: every executor ends each
/// command with `killLeftovers()` (or, where cgroups exist, kills its cgroup whole).
struct StepMarker: Sendable {
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

    /// Kills every process still carrying the marker and waits until none is left.
    func killLeftovers() {
        ProcessRunner.killProcesses(withEnvironmentEntry: "\(Self.variable)=\(value)")
    }

    /// Runs a host process (a step, or the bwrap around one) marked, in a cgroup of its own where
    /// cgroup v2 is writable, and makes sure none of its processes outlives it, whatever it
    /// ended by: the cgroup is killed whole; without one, the group is killed (by the runner)
    /// and then everything still carrying the marker.
    func run(_ spec: ProcessSpec, deadline: Date?, onOutput: (String) -> Void) async throws -> ProcessOutcome {
        var spec = spec
        spec.environment = marking(spec.environment)
        let cgroup = StepCgroup.make()
        spec.cgroup = cgroup
        let outcome = try await ProcessRunner.run(spec, deadline: deadline, onOutput: onOutput)
        // Usually instant, but a process stuck in the kernel can hold the sweep for seconds: off the pool.
        let marker = self
        try await BlockingThread.run("gobay-step-sweep") {
            if let cgroup { cgroup.killAllAndRemove() } else { marker.killLeftovers() }
        }
        return outcome
    }
}

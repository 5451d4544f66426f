import Foundation

/// Which process isolation an environment runs its steps under.
public enum ExecutorKind: String, Sendable, CaseIterable {
    /// A plain process on the host.
    case host
    /// A bubblewrap sandbox.
    case sandbox
    /// One long-lived Docker container per environment.
    case docker
}

import Foundation

/// A command to run: an argument vector, never a shell string.
public struct ProcessSpec: Sendable {
    /// argv[0] is resolved against the PATH in `environment` when it has no slash.
    public var arguments: [String]
    /// The complete environment of the child; nothing is inherited.
    public var environment: [String: String]
    /// The working directory of the child.
    public var workingDirectory: String?
    /// Descriptors the child gets as 3, 4, ... (every other one is closed in the child).
    public var descriptors: [Int32] = []
    /// The user the child runs as (supplementary groups dropped); nil keeps gobay's.
    public var user: ProcessUser?
    /// The cgroup the child starts in, so every process it makes can be found and killed.
    public var cgroup: StepCgroup?
    /// Sets no-new-privileges: setuid binaries and file capabilities grant nothing.
    public var noNewPrivileges = false
    /// The file the child reads as stdin (opened read-only by gobay); nil gives it /dev/null.
    public var stdinPath: String?
    /// A descriptor the child gets as stdin instead (the read end of a pipe gobay writes to);
    /// the caller keeps it and closes it.
    public var stdinDescriptor: Int32?

    /// Creates a spec.
    public init(_ arguments: [String], environment: [String: String], workingDirectory: String? = nil) {
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
    }
}

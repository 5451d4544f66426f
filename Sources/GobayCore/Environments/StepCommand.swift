import Foundation

/// One command a build step runs inside an environment.
public struct StepCommand: Sendable {
    /// The argument vector; argv[0] is found on the environment's PATH.
    public var arguments: [String]
    /// The directory it runs in, as a host path (executors map it into their view).
    public var workingDirectory: String
    /// The complete environment, as `Executor.variables(mode:)` gave it plus any additions.
    public var environment: [String: String]
    /// Host directories the command may write besides the environment (the work dir and the
    /// build's artifacts); isolated executors make only these writable.
    public var writable: [String]

    /// Creates a command.
    public init(
        _ arguments: [String], workingDirectory: String, environment: [String: String], writable: [String] = []
    ) {
        self.arguments = arguments
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.writable = writable
    }
}

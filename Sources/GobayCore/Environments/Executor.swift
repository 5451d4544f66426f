import Foundation

/// One command a build step runs inside an environment.
public struct StepCommand: Sendable {
    /// The argument vector; argv[0] is found on the environment's PATH.
    public var arguments: [String]
    /// The directory it runs in.
    public var workingDirectory: String
    /// The complete environment.
    public var environment: [String: String]

    /// Creates a command.
    public init(_ arguments: [String], workingDirectory: String, environment: [String: String]) {
        self.arguments = arguments
        self.workingDirectory = workingDirectory
        self.environment = environment
    }
}

/// Runs an environment's commands with some kind of isolation. Every executor kills the
/// command's whole process tree on timeout or cancel and checks that nothing is left.
public protocol Executor: Sendable {
    /// Which kind this is.
    var kind: ExecutorKind { get }
    /// Runs `command`, streaming its output lines, until it ends, the deadline passes or `cancel` is set.
    func run(_ command: StepCommand, deadline: Date?, cancel: CancellationFlag?, onOutput: (String) -> Void) throws
        -> ProcessOutcome
}

/// Runs commands as plain processes on the host, each in its own process group.
public struct HostExecutor: Executor {
    /// Creates a host executor.
    public init() {}

    public var kind: ExecutorKind { .host }

    public func run(
        _ command: StepCommand, deadline: Date?, cancel: CancellationFlag?, onOutput: (String) -> Void
    ) throws -> ProcessOutcome {
        try ProcessRunner.run(
            ProcessSpec(command.arguments, environment: command.environment, workingDirectory: command.workingDirectory),
            deadline: deadline, cancel: cancel, onOutput: onOutput)
    }
}

extension ExecutorKind {
    /// The executor implementing this kind.
    public func makeExecutor() -> Executor {
        switch self {
        case .host, .sandbox, .docker: return HostExecutor()
        }
    }
}

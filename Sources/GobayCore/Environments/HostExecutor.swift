import Foundation

/// Runs commands as plain processes on the host, each in its own process group.
public struct HostExecutor: Executor {
    let environment: Environment
    public let stepUser: ProcessUser?

    public var kind: ExecutorKind { .host }

    public func path(_ host: String) -> String { host }

    public func variables(mode: BuildMode?) -> [String: String] { environment.variables(mode: mode) }

    public func prepare() throws { try prepareDirectories(environment) }

    public func run(_ command: StepCommand, deadline: Date?, onOutput: (String) -> Void) async throws -> ProcessOutcome {
        var spec = ProcessSpec(command.arguments, environment: command.environment, workingDirectory: command.workingDirectory)
        spec.user = stepUser
        spec.noNewPrivileges = stepUser != nil
        return try await StepMarker().run(spec, deadline: deadline, onOutput: onOutput)
    }

    public func interactive(_ arguments: [String], mode: BuildMode?, workingDirectory: String?, tty: Bool) throws -> ProcessSpec {
        try prepare()
        var spec = ProcessSpec(arguments, environment: variables(mode: mode), workingDirectory: workingDirectory)
        spec.user = stepUser
        return spec
    }
}

import Foundation

/// Runs an environment's commands with some kind of isolation: a plain host process, a
/// bubblewrap sandbox, or `docker exec` into the environment's long-lived container. Builds and
/// `gobay env exec` behave the same under each; only the isolation differs. Every executor kills
/// a command's whole process tree on timeout or cancel and checks that nothing is left.
public protocol Executor: Sendable {
    /// Which kind this is.
    var kind: ExecutorKind { get }
    /// The user steps run as, when it is not gobay's own.
    var stepUser: ProcessUser? { get }
    /// The variables a go process sees, with paths as this executor shows them.
    func variables(mode: BuildMode?) -> [String: String]
    /// A host path as steps see it (a sandbox or container mounts the environment at /go).
    func path(_ host: String) -> String
    /// Makes the executor ready (e.g. creates or starts the container). Blocks: async callers run
    /// it through `BlockingThread`.
    func prepare() throws
    /// Runs `command`, streaming its output lines, until it ends, the deadline passes or the task
    /// is cancelled; then its whole process tree is gone.
    func run(_ command: StepCommand, deadline: Date?, onOutput: (String) -> Void) async throws -> ProcessOutcome
    /// A process spec that runs `arguments` attached to the terminal (for `env exec` and `env shell`).
    func interactive(_ arguments: [String], mode: BuildMode?, workingDirectory: String?, tty: Bool) throws -> ProcessSpec
}

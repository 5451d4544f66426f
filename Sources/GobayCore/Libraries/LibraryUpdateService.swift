import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The server's library updates, as a `Service`: a push to a library asks for an update of
/// every environment it lists; `run()` performs them one at a time. Requests coalesce: pushes
/// that arrive while a library waits for its update add nothing, and pushes during an update
/// give exactly one more, which goes to the newest commit.
public final class LibraryUpdateService: Service, Sendable {
    private let config: @Sendable () -> GobayConfig
    private let database: AppDatabase
    private let logger: Logger
    /// Told about builds queued after an update (dependents only go.mod names).
    private let queued: @Sendable ([Int64]) -> Void
    private let requests: AsyncStream<Request>
    private let input: AsyncStream<Request>.Continuation
    /// Libraries requested and not yet started, with the push that asked last.
    private let waiting = Mutex<[String: LibraryCause]>([:])
    /// Updates finished, for tests and metrics.
    private let finishedCount = Mutex(0)

    private struct Request: Sendable {
        var library: String
    }

    /// A service reading the config in force through `config`; `queued` hears of builds it
    /// queues.
    public init(
        config: @escaping @Sendable () -> GobayConfig, database: AppDatabase, logger: Logger,
        queued: @escaping @Sendable ([Int64]) -> Void
    ) {
        self.config = config
        self.database = database
        self.logger = logger
        self.queued = queued
        (requests, input) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Asks for an update of `library`, caused by a push of `commit`. Returns at once.
    public func request(_ library: String, commit: String) {
        let isNew = waiting.withLock { waiting in
            let isNew = waiting[library] == nil
            waiting[library] = LibraryCause(library: library, commit: commit)
            return isNew
        }
        if isNew { input.yield(Request(library: library)) }
    }

    /// How many updates have finished (successfully or not).
    public var finished: Int { finishedCount.withLock { $0 } }

    /// Performs requested updates until the server stops.
    public func run() async throws {
        let input = self.input
        try await withGracefulShutdownHandler {
            for await request in requests {
                guard let cause = waiting.withLock({ $0.removeValue(forKey: request.library) }) else { continue }
                await update(cause)
                finishedCount.withLock { $0 += 1 }
            }
        } onGracefulShutdown: {
            input.finish()
        }
    }

    private func update(_ cause: LibraryCause) async {
        let config = self.config()
        guard let lib = config.libraries.first(where: { $0.name == cause.library }) else { return }
        let log = logger
        do {
            let changes = try await LibraryUpdater(config: config, database: database).update(lib) { line in
                log.info("\(line)", metadata: ["library": "\(lib.name)"])
            }
            logger.info(
                "library updated",
                metadata: [
                    "library": "\(lib.name)",
                    "library.environments": "\(changes.map { "\($0.environment)=\($0.to.prefix(12))" }.joined(separator: ","))",
                ])
            guard lib.rebuild == .dependents else { return }
            // Dependents known only from go.mod (no successful build yet) are queued here; those
            // known from builds were queued with the webhook's answer.
            let fromGoMod = try LibraryReport(config: config, database: database).dependents(of: lib.name)
                .filter { $0.source == "go.mod" }
            var ids: [Int64] = []
            for dependent in fromGoMod {
                guard let project = config.projects.first(where: { $0.name == dependent.project }) else { continue }
                let ref = project.branch ?? GitMirror(url: project.repo, dataDir: config.dataDir).headFileBranch() ?? "main"
                let (id, _) = try await database.enqueue(
                    AppDatabase.Enqueue(
                        project: project.name, ref: ref, commit: nil, environment: nil, trigger: .library,
                        coalesce: true, notBefore: nil, cause: cause))
                ids.append(id)
            }
            if !ids.isEmpty { queued(ids) }
        } catch {
            logger.error("library update failed", metadata: ["library": "\(lib.name)", "error": "\(SecretMask.urlPasswords(userMessage(error)))"])
        }
    }
}

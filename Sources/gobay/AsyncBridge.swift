import Foundation
import GobayCore
import Synchronization

/// Where the CLI's synchronous main crosses into async code: a build (through
/// `SignalCancellation`), `toolchain install` and the commands that talk to a server. The main
/// stays synchronous because `env exec` closes every descriptor before it execs, which the
/// concurrency runtime's threads must not be there to see.
enum AsyncBridge {
    /// Runs `body` in a detached task and blocks the calling thread (the main thread, never one of
    /// the cooperative pool) until it ends and the `Sweeper` is done; returns or throws what it did.
    static func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let handoff = Handoff<T>()
        Task.detached {
            let outcome = await Result(catching: { try await body() })
            // Trees a build set aside are gone before the process is.
            await Sweeper.drain()
            handoff.deliver(outcome)
        }
        return try handoff.take().get()
    }

    /// A result passed from a task to a thread that blocks until it comes.
    private final class Handoff<T: Sendable>: Sendable {
        private let condition = NSCondition()
        private let result = Mutex<Result<T, Error>?>(nil)

        func deliver(_ outcome: Result<T, Error>) {
            condition.lock()
            result.withLock { $0 = outcome }
            condition.signal()
            condition.unlock()
        }

        func take() -> Result<T, Error> {
            condition.lock()
            defer { condition.unlock() }
            while true {
                if let outcome = result.withLock({ $0 }) { return outcome }
                condition.wait()
            }
        }
    }
}

extension Result where Failure == Error {
    /// The result of an async throwing `body`.
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}

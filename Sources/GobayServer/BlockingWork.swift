import Foundation
import GobayCore

/// Runs blocking work (git fetches, which may take seconds) on a thread of its own, so neither the
/// NIO event loops nor Swift's cooperative pool wait on it.
enum BlockingWork {
    /// The result of `body`, run on a new thread named `name`.
    static func run<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await BlockingThread.run(name, body)
    }
}

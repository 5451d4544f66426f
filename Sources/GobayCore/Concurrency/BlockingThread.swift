import Foundation

/// Runs blocking work (a git fetch, `docker run`, a copy of a large binary, a flock wait) on a
/// thread of its own, so neither the NIO event loops nor Swift's cooperative pool wait on it.
/// A thread per call, not a fixed pool: a wait that lasts as long as another build (a lock)
/// must never starve a short one queued behind it.
public enum BlockingThread {
    /// The result of `body`, run on a new thread named `name`. Not cancellable: `body` runs to
    /// its end (callers that must stop early give `body` its own way to stop).
    public static func run<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            start(name) { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Starts `body` on a new thread and returns at once.
    static func start(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.start()
    }
}

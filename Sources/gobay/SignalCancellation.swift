import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Turns SIGINT, SIGTERM and SIGHUP into the cancellation of the running build's task instead of
/// killing gobay, so the build kills its processes and records itself `canceled`.
enum SignalCancellation {
    /// Runs `run(body)` from the CLI's synchronous main thread and blocks that thread (never one
    /// of the cooperative pool) until it ends. The one place the CLI crosses into async code, so
    /// the one detached task.
    static func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let handoff = Handoff<T>()
        Task.detached { handoff.deliver(await Result(catching: { try await run(body) })) }
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

    /// Runs `body` as a child task, cancelled at the first signal; returns what it returns.
    static func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let (signals, continuation) = AsyncStream.makeStream(of: Int32.self, bufferingPolicy: .bufferingNewest(1))
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { continuation.yield(sig) }
            source.resume()
            sources.append(source)
        }
        defer {
            sources.forEach { $0.cancel() }
            continuation.finish()
        }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                for await sig in signals {
                    Terminal.error("gobay: signal \(sig) received; stopping the build")
                    return nil
                }
                return nil
            }
            while let next = try await group.next() {
                if let value = next {
                    group.cancelAll()
                    return value
                }
                // A signal: the build's task is cancelled, and it still ends with its record.
                group.cancelAll()
            }
            throw CancellationError()
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

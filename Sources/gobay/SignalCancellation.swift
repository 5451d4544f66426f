import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Turns SIGINT, SIGTERM and SIGHUP into the cancellation of the running build's task instead of
/// killing gobay, so the build kills its processes and records itself `canceled`.
enum SignalCancellation {
    /// Runs `run(body)` from the CLI's synchronous main thread and blocks that thread until it ends.
    static func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        try AsyncBridge.runBlocking { try await run(body) }
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

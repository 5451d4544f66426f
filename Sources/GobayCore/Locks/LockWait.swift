import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Waits for the first of some file locks without polling and without holding a thread of the
/// cooperative pool: a thread per lock blocks in flock(2), and the first to get its lock wins.
/// The task gives up at its deadline or when it is cancelled; a thread still blocked then keeps
/// waiting and releases the lock the moment it gets it (the kernel cannot interrupt flock).
final class LockWait: Sendable {
    private struct State {
        var result: Int?? = .none
        var waiter: CheckedContinuation<Int?, Never>?
    }

    private let state = Mutex(State())

    /// The index in `locks` of the lock taken, or nil when the deadline passed or the task was
    /// cancelled first.
    static func first(of locks: [FileLock], shared: Bool, deadline: Date?) async -> Int? {
        if Task.isCancelled { return nil }
        let wait = LockWait()
        for (index, lock) in locks.enumerated() {
            BlockingThread.start("gobay-lock-wait") {
                lock.lockBlocking(shared: shared)
                if !wait.finish(index) { lock.unlock() }
            }
        }
        return await withTaskGroup(of: Void.self) { group in
            if let deadline {
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(Int64(max(0, deadline.timeIntervalSinceNow) * 1000)))
                    wait.finish(nil)
                }
            }
            let taken = await withTaskCancellationHandler {
                await wait.value()
            } onCancel: {
                wait.finish(nil)
            }
            group.cancelAll()
            return taken
        }
    }

    /// Settles the wait, if it is not settled yet; returns whether this call settled it.
    @discardableResult
    func finish(_ index: Int?) -> Bool {
        let (settled, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Int?, Never>?) in
            guard case .none = state.result else { return (false, nil) }
            state.result = .some(index)
            defer { state.waiter = nil }
            return (true, state.waiter)
        }
        waiter?.resume(returning: index)
        return settled
    }

    private func value() async -> Int? {
        await withCheckedContinuation { continuation in
            let settled = state.withLock { state -> Int?? in
                if case .some(let value) = state.result { return .some(value) }
                state.waiter = continuation
                return .none
            }
            if case .some(let value) = settled { continuation.resume(returning: value) }
        }
    }
}

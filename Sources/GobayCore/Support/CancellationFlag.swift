import Foundation

/// A thread-safe flag that asks running work to stop; set by Ctrl-C, SIGTERM or an API cancel.
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    /// Creates a flag that is not set.
    public init() {}

    /// Whether cancellation was asked for.
    public var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    /// Asks the work to stop.
    public func cancel() {
        lock.lock()
        value = true
        lock.unlock()
    }
}

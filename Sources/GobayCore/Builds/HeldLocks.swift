import Foundation
import Synchronization

/// The locks a build holds, released in reverse order once its final status is recorded.
final class HeldLocks: Sendable {
    private let locks = Mutex<[FileLock]>([])

    func append(_ lock: FileLock) { locks.withLock { $0.append(lock) } }

    func releaseAll() { locks.withLock { $0 }.reversed().forEach { $0.unlock() } }
}

import CGobay
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Tells waiting tasks that something changed in a build's directory: its log was written or
/// closed (by this process or a `gobay build` in another), or, said in process, its final status
/// was recorded. One inotify instance and one thread (blocked in read(2)) serve every follower
/// of every build, and a build's directory is watched once however many follow it, so a waiting
/// follower costs a suspended task and nothing else. (The kernel allows few inotify instances
/// per user, 128 by default, and 500 followers must fit.)
public final class BuildDirectoryWatcher: Sendable {
    private struct Watch {
        var descriptor: Int32
        var subscribers = 0
        var changes: UInt64 = 0
        var waiters: [UInt64: (continuation: CheckedContinuation<Void, Never>, queued: Bool)] = [:]
    }

    private struct State {
        var watches: [String: Watch] = [:]
        var directories: [Int32: String] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let inotify: Int32
    private let state = Mutex(State())

    /// Opens the inotify instance and starts its thread; nil when inotify is unavailable.
    public init?() {
        inotify = inotify_init1(Int32(IN_CLOEXEC))
        guard inotify >= 0 else { return nil }
        BlockingThread.start("gobay-log-watch") { [self] in loop() }
    }

    /// Starts following the directory `directory` (made if missing).
    public func subscribe(_ directory: String) -> Subscription {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        state.withLock { state in
            if state.watches[directory] == nil {
                let mask = UInt32(IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF)
                let wd = inotify_add_watch(inotify, directory, mask)
                state.watches[directory] = Watch(descriptor: wd)
                if wd >= 0 { state.directories[wd] = directory }
            }
            state.watches[directory]?.subscribers += 1
        }
        return Subscription(watcher: self, directory: directory)
    }

    /// Wakes the followers of `directory` (a final status was recorded in this process).
    public func notify(_ directory: String) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard var watch = state.watches[directory] else { return [] }
            watch.changes += 1
            let waiters = watch.waiters.values.map(\.continuation)
            watch.waiters = [:]
            state.watches[directory] = watch
            return waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Wakes the followers of builds that were still queued when they looked: the queue changed
    /// (a build was claimed, canceled or superseded), which their directory does not show.
    public func notifyQueued() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            var woken: [CheckedContinuation<Void, Never>] = []
            for (directory, var watch) in state.watches where watch.waiters.values.contains(where: \.queued) {
                watch.changes += 1
                woken += watch.waiters.values.map(\.continuation)
                watch.waiters = [:]
                state.watches[directory] = watch
            }
            return woken
        }
        waiters.forEach { $0.resume() }
    }

    /// One follower's view of a directory's changes.
    public final class Subscription: Sendable {
        let watcher: BuildDirectoryWatcher
        let directory: String
        private let ended = Mutex(false)

        init(watcher: BuildDirectoryWatcher, directory: String) {
            self.watcher = watcher
            self.directory = directory
        }

        deinit { cancel() }

        /// How many changes there have been; take it before looking, then `wait(after:)` it.
        public var changes: UInt64 { watcher.changes(directory) }

        /// Returns once there have been more than `seen` changes, or the task is cancelled;
        /// `queued` also wakes it when the queue changes.
        public func wait(after seen: UInt64, queued: Bool = false) async {
            await watcher.wait(directory, after: seen, queued: queued)
        }

        /// Stops following; the directory's watch ends with its last follower.
        public func cancel() {
            guard ended.withLock({ ended in defer { ended = true }; return !ended }) else { return }
            watcher.unsubscribe(directory)
        }
    }

    private func changes(_ directory: String) -> UInt64 { state.withLock { $0.watches[directory]?.changes ?? 0 } }

    private func wait(_ directory: String, after seen: UInt64, queued: Bool) async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Bool in
                    guard let watch = state.watches[directory], watch.changes <= seen, !Task.isCancelled else { return true }
                    state.watches[directory]?.waiters[id] = (continuation, queued)
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.watches[directory]?.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume()
        }
    }

    private func unsubscribe(_ directory: String) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard var watch = state.watches[directory] else { return [] }
            watch.subscribers -= 1
            guard watch.subscribers == 0 else {
                state.watches[directory] = watch
                return []
            }
            state.watches.removeValue(forKey: directory)
            if watch.descriptor >= 0 {
                state.directories.removeValue(forKey: watch.descriptor)
                inotify_rm_watch(inotify, watch.descriptor)
            }
            return watch.waiters.values.map(\.continuation)
        }
        waiters.forEach { $0.resume() }
    }

    private func loop() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let header = MemoryLayout<inotify_event>.size
        while true {
            let n = buffer.withUnsafeMutableBytes { read(inotify, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            var descriptors = Set<Int32>()
            var offset = 0
            while offset + header <= n {
                let (wd, length) = buffer.withUnsafeBytes { raw in
                    let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    return (event.wd, Int(event.len))
                }
                descriptors.insert(wd)
                offset += header + length
            }
            // Many events of one read are one change to each follower: it reads what is new anyway.
            let directories = state.withLock { state in descriptors.compactMap { state.directories[$0] } }
            directories.forEach(notify)
        }
    }
}

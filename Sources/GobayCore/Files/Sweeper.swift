import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Removes trees a build no longer needs (the work dir a new checkout replaced, an older
/// commit's clean tree) on a thread of its own, while the build goes on. Each was renamed out
/// of the way first, so nothing reads it any more; what the removal costs is mostly waiting on
/// the file system's journal (each `rmdir` and last `unlink` of a file is a metadata change),
/// which would otherwise sit in the fetch step of every build of a new commit. `drain()` waits
/// for every removal started so far: a process that is about to exit calls it.
public enum Sweeper {
    private struct State {
        var running = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private static let state = Mutex(State())

    /// Starts removing `path` and everything below it (as `DirectoryEntries.remove`) and returns.
    static func remove(_ path: String) {
        let parent = (path as NSString).deletingLastPathComponent
        remove((path as NSString).lastPathComponent, in: open(parent.isEmpty ? "." : parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC))
    }

    /// One removal ended: wakes the drainers when it was the last.
    private static func finished() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.running -= 1
            guard state.running == 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Starts removing the entry `name` of the directory open as `directory` (a descriptor this
    /// takes and closes when done) and everything below it, never following a link.
    static func remove(_ name: String, in directory: Int32) {
        guard directory >= 0 else { return }
        state.withLock { $0.running += 1 }
        BlockingThread.start("gobay-sweep") {
            DirectoryEntries.remove(name, in: directory, listedAsDirectory: false)
            close(directory)
            finished()
        }
    }

    /// Returns once no removal is running.
    public static func drain() async {
        await withCheckedContinuation { continuation in
            let idle = state.withLock { state -> Bool in
                if state.running == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    /// The prefix of a tree renamed aside to be removed; `sweepLeftovers` finds those a killed
    /// gobay left.
    static let asidePrefix = ".old-checkout-"

    /// The name beside `path` that it is renamed to before it is removed.
    static func asideName(for path: String) -> String {
        (path as NSString).deletingLastPathComponent + "/" + asidePrefix + UUID().uuidString
    }

    /// Removes what a killed gobay left renamed aside in `dir` (not below it); returns how many.
    /// With `anchor` (an environment's dir, for its work dir, which steps can change), `dir` is
    /// reached without following a link (`PlacementDirectory`): a link in its place is left.
    @discardableResult
    public static func sweepLeftovers(in dir: String, anchor: String? = nil) -> Int {
        // Without an anchor (gobay's own trees), the directory its path leads to.
        guard let place = try? PlacementDirectory(dir, anchor: anchor ?? dir, owner: nil, create: false) else { return 0 }
        let aside = ((try? DirectoryEntries.list(fd: place.descriptor, path: dir)) ?? []).filter { $0.name.hasPrefix(asidePrefix) }
        for entry in aside { DirectoryEntries.remove(entry.name, in: place.descriptor, listedAsDirectory: entry.isDirectory) }
        return aside.count
    }
}

import Foundation
import GobayCore

/// `<data_dir>/locks/server.lock`, held by the one `gobay serve` of a data dir for its lifetime.
/// A second server would mark the first one's builds interrupted and run its queue twice, so it
/// stops before it touches anything. The file names the holder (pid, listen address).
final class ServerLock: Sendable {
    /// The lock file.
    let path: String
    private let lock: FileLock

    /// Takes the lock or throws naming the server that holds it.
    init(dataDir: String, listen: String) throws {
        path = DataDirectory(dataDir).serverLock
        lock = try FileLock(path: path)
        guard lock.tryLockExclusive() else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let who = holder.map { $0.isEmpty ? "" : " (\($0))" } ?? ""
            throw GobayError.failure(
                "another gobay serve\(who) is already running on the data dir \(dataDir)",
                hint: "stop that server first, or give this one its own data_dir; \(path) is held while one runs")
        }
        // Best effort: the lock itself is what counts, even on a full disk.
        if let handle = FileHandle(forWritingAtPath: path) {
            try? handle.truncate(atOffset: 0)
            try? handle.write(contentsOf: Data("pid \(getpid()), listen \(listen)\n".utf8))
            try? handle.close()
        }
    }
}

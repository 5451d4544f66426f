import Foundation
import Synchronization

/// A token that is "alive" exactly as long as the gobay process holding it: a file under
/// `<data_dir>/locks/owners/` locked for the life of the process. Builds record their owner's
/// token, so a later gobay can tell a build whose process died (the lock is free) from one still
/// running elsewhere, with no pid-reuse ambiguity.
public final class ProcessOwner: Sendable {
    /// This process's token.
    public let token: String
    private let lock: FileLock
    private static let byDataDir = Mutex<[String: ProcessOwner]>([:])

    private init(dataDir: String) throws {
        token = UUID().uuidString.lowercased()
        lock = try FileLock(path: Self.path(dataDir, token))
        lock.lockExclusive()
    }

    /// The token this process holds for `dataDir`, created on first use.
    public static func current(dataDir: String) throws -> ProcessOwner {
        try byDataDir.withLock { owners in
            if let owner = owners[dataDir] { return owner }
            let owner = try ProcessOwner(dataDir: dataDir)
            owners[dataDir] = owner
            return owner
        }
    }

    /// Whether some live process holds `token`; a dead token's file is removed.
    public static func isAlive(_ token: String, dataDir: String) -> Bool {
        guard !token.isEmpty, token.allSatisfy({ $0.isHexDigit || $0 == "-" }) else { return false }
        let path = path(dataDir, token)
        guard FileManager.default.fileExists(atPath: path), let probe = try? FileLock(path: path) else { return false }
        if probe.tryLockExclusive() {
            unlink(path)
            probe.unlock()
            return false
        }
        return true
    }

    private static func path(_ dataDir: String, _ token: String) -> String {
        DataDirectory(dataDir).ownerLock(token)
    }
}

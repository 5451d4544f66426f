import Foundation
import GRDB

/// The build history in `<data_dir>/gobay.sqlite` (WAL mode): builds, steps and artifacts.
/// Several gobay processes share it; every change is one transaction.
///
/// Async code (the server's handlers) uses the `async` methods, which wait for SQLite off the
/// caller's thread; the synchronous ones are for the CLI and the build threads.
public struct AppDatabase: Sendable {
    let writer: any DatabaseWriter

    /// Migrates and uses `writer`: a `DatabasePool` on the data dir's file in production, an
    /// in-memory `DatabaseQueue()` in tests.
    public init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }

    /// Opens (creating and migrating) the database at `path`: a pool of a writer and readers, or
    /// with `oneConnection` a single connection (a CLI process that reads and writes in turn:
    /// it saves opening a reader, about a millisecond of every `gobay build`).
    public init(path: String, oneConnection: Bool = false) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        // Two gobay processes may open a new data dir at once: switching it to WAL and migrating
        // happen one process at a time (SQLite answers "database is locked" to a second switcher).
        let lock = try FileLock(path: path + ".migrate.lock")
        lock.lockExclusive()
        defer { lock.unlock() }
        try Self.refuseEmptyFileBesideBuilds(path)
        do {
            if oneConnection {
                var configuration = Self.configuration()
                // WAL as the pool makes it, should this process create the file.
                configuration.journalMode = .wal
                try self.init(DatabaseQueue(path: path, configuration: configuration))
            } else {
                try self.init(DatabasePool(path: path, configuration: Self.configuration()))
            }
        } catch let error as DatabaseError {
            let hint: String
            switch StorageFailure(error) {
            case .some(let failure): hint = failure.hint(path: path)
            case .none: hint = "check that the data dir is writable"
            }
            throw GobayError.failure(
                "cannot open the build history \(path): \(error.message ?? "\(error)")", hint: hint)
        }
    }

    /// The configuration of the data dir's database.
    static func configuration() -> Configuration {
        var config = Configuration()
        config.busyMode = .timeout(30)
        // WAL with synchronous=NORMAL: a commit is durable against a crash of any gobay process
        // (the WAL is in the OS's hands at once); only a power loss before the next checkpoint can
        // lose the newest commits. It saves an fsync per commit on the webhook path.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        return config
    }

    /// SQLite takes a 0-byte file for a new database, so a history truncated to nothing would
    /// start again at build 1 and append to the logs of the old builds. Refused while `builds/`
    /// beside it holds any build.
    static func refuseEmptyFileBesideBuilds(_ path: String) throws {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            (attributes[.size] as? NSNumber)?.intValue == 0
        else { return }
        let buildsDir = DataDirectory((path as NSString).deletingLastPathComponent).builds
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: buildsDir)) ?? []
        let builds = entries.filter { name in
            var isDirectory: ObjCBool = false
            return Int64(name) != nil
                && FileManager.default.fileExists(atPath: buildsDir + "/" + name, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }
        guard !builds.isEmpty else { return }
        throw GobayError.failure(
            "the build history \(path) is empty (0 bytes) but \(buildsDir) holds \(builds.count) builds: the history is damaged",
            hint:
                "restore \(path) from a backup; to start a new history instead, move both \(path) and \(buildsDir) aside"
        )
    }

    /// Runs `updates` in a write transaction off the caller's thread, and to its end even when the
    /// task is cancelled (GRDB's async `write` throws `CancellationError` instead): a canceled
    /// build's final status is still recorded.
    func writeToCompletion<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            writer.asyncWrite(updates) { _, result in continuation.resume(with: result) }
        }
    }

    /// Runs `value` in a read off the caller's thread, to its end even when the task is cancelled.
    func readToCompletion<T: Sendable>(_ value: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            writer.asyncRead { database in
                continuation.resume(with: database.flatMap { db in Result { try value(db) } })
            }
        }
    }

    /// Opens the database of a data dir (see `init(path:oneConnection:)`).
    public init(dataDir: String, oneConnection: Bool = false) throws {
        try self.init(path: DataDirectory(dataDir).database, oneConnection: oneConnection)
    }
}

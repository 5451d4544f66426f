import Foundation
import GRDB

/// What the history knows about shared libraries: the pins `gobay lib pin` set, the library
/// commits each build compiled against, and from those the projects that import a library.
extension AppDatabase {
    /// A pin set with `gobay lib pin`.
    public struct LibraryPin: Sendable, Equatable {
        /// The library.
        public var library: String
        /// The environment it holds.
        public var environment: String
        /// The full commit id.
        public var commit: String
        /// When it was set.
        public var setAt: Date
    }

    /// Every pin set by command.
    public func libraryPins() throws -> [LibraryPin] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT library, environment, commit_sha, set_at FROM library_pin ORDER BY library, environment")
                .map { LibraryPin(library: $0[0], environment: $0[1], commit: $0[2], setAt: $0[3]) }
        }
    }

    /// Holds `library` in `environment` at `commit`, replacing an earlier pin.
    public func setLibraryPin(_ library: String, environment: String, commit: String) throws {
        try writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO library_pin (library, environment, commit_sha, set_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (library, environment) DO UPDATE SET commit_sha = excluded.commit_sha, set_at = excluded.set_at
                    """,
                arguments: [library, environment, commit, StoredDate.value(Date())])
        }
    }

    /// Releases the pin of `library` in `environment`; false when there was none.
    @discardableResult
    public func removeLibraryPin(_ library: String, environment: String) throws -> Bool {
        try writer.write { db in
            try db.execute(
                sql: "DELETE FROM library_pin WHERE library = ? AND environment = ?", arguments: [library, environment])
            return db.changesCount > 0
        }
    }

    /// Records the library commits build `id` compiled against.
    public func setLibraries(_ id: Int64, _ libraries: [String: String]) throws {
        let json = try StoredBuild.librariesJSON(libraries)
        try writer.write { db in
            _ = try StoredBuild.filter(key: id).updateAll(db, StoredBuild.Columns.libraries.set(to: json))
        }
    }

    /// A project's newest successful build and the libraries it compiled against.
    public struct LibraryUse: Sendable, Equatable {
        /// The project.
        public var project: String
        /// The build.
        public var build: Int64
        /// Its environment.
        public var environment: String
        /// Its ref.
        public var ref: String
        /// Library name → commit.
        public var libraries: [String: String]
    }

    /// For each of `projects`, its newest successful build that recorded its libraries.
    public func latestLibraryUse(projects: [String]) throws -> [LibraryUse] {
        try writer.read { db in try Self.latestLibraryUse(projects, db) }
    }

    /// For each of `projects`, its newest successful build that recorded its libraries.
    public func latestLibraryUse(projects: [String]) async throws -> [LibraryUse] {
        try await writer.read { db in try Self.latestLibraryUse(projects, db) }
    }

    /// One project's newest successful build that recorded its libraries: one search of the
    /// partial index `build_library_use` (named, so a small table's statistics never pick a
    /// scan), whatever the history's length.
    static let latestLibraryUseSQL = """
        SELECT id, environment, ref, libraries FROM build INDEXED BY build_library_use
        WHERE project = ? AND status = 'succeeded' AND libraries IS NOT NULL
        ORDER BY id DESC LIMIT 1
        """

    private static func latestLibraryUse(_ projects: [String], _ db: Database) throws -> [LibraryUse] {
        let statement = try db.cachedStatement(sql: latestLibraryUseSQL)
        return try projects.compactMap { project in
            guard let row = try Row.fetchOne(statement, arguments: [project]) else { return nil }
            let text: String = row[3]
            return LibraryUse(
                project: project, build: row[0], environment: row[1] ?? "", ref: row[2],
                libraries: try JSONDecoder().decode([String: String].self, from: Data(text.utf8)))
        }
    }
}

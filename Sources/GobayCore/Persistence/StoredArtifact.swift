import Foundation
import GRDB

/// A row of the `artifact` table.
struct StoredArtifact: Codable, Sendable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "artifact"

    var id: Int64?
    var buildId: Int64
    var name: String
    var path: String
    var sha256: String
    var size: Int64
    var goos: String
    var goarch: String

    enum CodingKeys: String, CodingKey, ColumnExpression {
        case id, name, path, sha256, size, goos, goarch
        case buildId = "build_id"
    }

    /// The table's columns, for the query interface.
    typealias Columns = CodingKeys

    init(buildId: Int64, _ artifact: ArtifactRecord) {
        self.buildId = buildId
        name = artifact.name
        path = artifact.path
        sha256 = artifact.sha256
        size = artifact.size
        goos = artifact.goos
        goarch = artifact.goarch
    }

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// The artifact as the API and `--json` show it.
    var record: ArtifactRecord {
        ArtifactRecord(name: name, path: path, sha256: sha256, size: size, goos: goos, goarch: goarch)
    }
}

extension StoredArtifact {
    /// The columns every request selects, in the order `init(row:)` reads them.
    static var databaseSelection: [any SQLSelectable] {
        [
            Columns.id, Columns.buildId, Columns.name, Columns.path, Columns.sha256, Columns.size, Columns.goos,
            Columns.goarch,
        ]
    }

    /// Decodes a row by position, not through `Decodable` or by column name: a listing of
    /// 25,000 builds spends most of its time here.
    init(row: Row) throws {
        id = try row.decode(atIndex: 0)
        buildId = try row.decode(atIndex: 1)
        name = try row.decode(atIndex: 2)
        path = try row.decode(atIndex: 3)
        sha256 = try row.decode(atIndex: 4)
        size = try row.decode(atIndex: 5)
        goos = try row.decode(atIndex: 6)
        goarch = try row.decode(atIndex: 7)
    }
}

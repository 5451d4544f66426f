import Foundation
import GRDB

/// A row of the `step` table.
struct StoredStep: Codable, Sendable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "step"

    var id: Int64?
    var buildId: Int64
    var name: String
    var status: StepStatus
    var startedAt: Date
    var finishedAt: Date?

    enum CodingKeys: String, CodingKey, ColumnExpression {
        case id, name, status
        case buildId = "build_id"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }

    /// The table's columns, for the query interface.
    typealias Columns = CodingKeys

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// Encodes a row by hand, with dates made by `StoredDate`: GRDB's own date encoding starts a
    /// `DateFormatter`, and ICU with it, in every `gobay build`.
    func encode(to container: inout PersistenceContainer) throws {
        container[Columns.id] = id
        container[Columns.buildId] = buildId
        container[Columns.name] = name
        container[Columns.status] = status
        container[Columns.startedAt] = StoredDate.value(startedAt)
        container[Columns.finishedAt] = finishedAt.map(StoredDate.value)
    }

    /// The step as the API and `--json` show it.
    var record: StepRecord { StepRecord(name: name, status: status, startedAt: startedAt, finishedAt: finishedAt) }
}

extension StoredStep {
    /// The columns every request selects, in the order `init(row:)` reads them.
    static var databaseSelection: [any SQLSelectable] {
        [Columns.id, Columns.buildId, Columns.name, Columns.status, Columns.startedAt, Columns.finishedAt]
    }

    /// Decodes a row by position, not through `Decodable` or by column name: a listing of
    /// 25,000 builds spends most of its time here.
    init(row: Row) throws {
        id = try row.decode(atIndex: 0)
        buildId = try row.decode(atIndex: 1)
        name = try row.decode(atIndex: 2)
        status = try row.decode(atIndex: 3)
        startedAt = try StoredDate.decode(row, atIndex: 4)
        finishedAt = try StoredDate.decodeIfPresent(row, atIndex: 5)
    }
}

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

    /// The step as the API and `--json` show it.
    var record: StepRecord { StepRecord(name: name, status: status, startedAt: startedAt, finishedAt: finishedAt) }
}

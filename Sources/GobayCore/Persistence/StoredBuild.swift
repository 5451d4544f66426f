import Foundation
import GRDB

/// A row of the `build` table.
struct StoredBuild: Codable, Sendable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "build"
    static let steps = hasMany(StoredStep.self)
    static let artifacts = hasMany(StoredArtifact.self)

    var id: Int64?
    var project: String
    /// nil until the build is planned.
    var environment: String?
    /// nil until the build is planned.
    var goVersion: String?
    /// "" until the build is planned, when the trigger named no commit.
    var commit: String
    var ref: String
    var status: BuildStatus
    var createdAt: Date
    var startedAt: Date?
    var finishedAt: Date?
    var error: String?
    /// The gobay process running it; nil while it waits in the server's queue.
    var owner: String?
    var trigger: Trigger
    var retryOf: Int64?
    var retried: Bool
    /// The environment the trigger asked for.
    var requestedEnv: String?
    var notBefore: Date?
    /// Stored as JSON.
    var testSummary: TestSummary?
    /// Library name → the commit the build compiled against; stored as JSON; nil until its deps ran.
    var libraries: [String: String]?
    /// The library whose push queued it (trigger `library`).
    var causeLibrary: String?
    /// That library's commit.
    var causeCommit: String?

    enum CodingKeys: String, CodingKey, ColumnExpression {
        case id, project, environment, ref, status, error, owner, trigger, retried
        case goVersion = "go_version"
        case commit = "commit_sha"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case retryOf = "retry_of"
        case requestedEnv = "requested_env"
        case notBefore = "not_before"
        case testSummary = "test_summary"
        case libraries
        case causeLibrary = "cause_library"
        case causeCommit = "cause_commit"
    }

    /// The table's columns, for the query interface.
    typealias Columns = CodingKeys

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// Encodes a row by hand, not through `Encodable`, with dates made by `StoredDate`: every
    /// webhook that queues a build inserts one.
    func encode(to container: inout PersistenceContainer) throws {
        container[Columns.id] = id
        container[Columns.project] = project
        container[Columns.environment] = environment
        container[Columns.goVersion] = goVersion
        container[Columns.commit] = commit
        container[Columns.ref] = ref
        container[Columns.status] = status
        container[Columns.createdAt] = StoredDate.value(createdAt)
        container[Columns.startedAt] = startedAt.map(StoredDate.value)
        container[Columns.finishedAt] = finishedAt.map(StoredDate.value)
        container[Columns.error] = error
        container[Columns.owner] = owner
        container[Columns.trigger] = trigger
        container[Columns.retryOf] = retryOf
        container[Columns.retried] = retried
        container[Columns.requestedEnv] = requestedEnv
        container[Columns.notBefore] = notBefore.map(StoredDate.value)
        container[Columns.testSummary] = try testSummary.map {
            String(decoding: try Self.databaseJSONEncoder(for: Columns.testSummary.rawValue).encode($0), as: UTF8.self)
        }
        container[Columns.libraries] = try libraries.map(Self.librariesJSON)
        container[Columns.causeLibrary] = causeLibrary
        container[Columns.causeCommit] = causeCommit
    }

    /// The build as the API and `--json` show it.
    func record(steps: [StepRecord], artifacts: [ArtifactRecord]) -> BuildRecord {
        BuildRecord(
            id: id ?? 0, project: project, environment: environment, goVersion: goVersion, commit: commit, ref: ref,
            status: status, createdAt: createdAt, startedAt: startedAt, finishedAt: finishedAt, error: error,
            artifacts: artifacts, steps: steps, trigger: trigger, retryOf: retryOf, tests: testSummary,
            libraries: libraries,
            cause: causeLibrary.map { LibraryCause(library: $0, commit: causeCommit ?? "") })
    }
}

extension BuildStatus: DatabaseValueConvertible {}
extension StepStatus: DatabaseValueConvertible {}
extension Trigger: DatabaseValueConvertible {}

extension DerivableRequest<StoredBuild> {
    /// Builds that have not ended.
    func unfinished() -> Self {
        filter([BuildStatus.queued, BuildStatus.running].contains(StoredBuild.Columns.status))
    }

    /// Builds that have ended.
    func ended() -> Self {
        filter(![BuildStatus.queued, BuildStatus.running].contains(StoredBuild.Columns.status))
    }

    /// Builds waiting in the server's queue, not yet claimed by a process.
    func waiting() -> Self {
        filter(StoredBuild.Columns.status == BuildStatus.queued && StoredBuild.Columns.owner == nil)
    }
}

extension StoredBuild {
    /// The columns every request selects, in the order `init(row:)` reads them.
    static var databaseSelection: [any SQLSelectable] {
        [
            Columns.id, Columns.project, Columns.environment, Columns.goVersion, Columns.commit, Columns.ref,
            Columns.status, Columns.createdAt, Columns.startedAt, Columns.finishedAt, Columns.error, Columns.owner,
            Columns.trigger, Columns.retryOf, Columns.retried, Columns.requestedEnv, Columns.notBefore,
            Columns.testSummary, Columns.libraries, Columns.causeLibrary, Columns.causeCommit,
        ]
    }

    /// Decodes a row by position, not through `Decodable` or by column name: a listing of
    /// 25,000 builds spends most of its time here.
    init(row: Row) throws {
        id = try row.decode(atIndex: 0)
        project = try row.decode(atIndex: 1)
        environment = try row.decode(atIndex: 2)
        goVersion = try row.decode(atIndex: 3)
        commit = try row.decode(atIndex: 4)
        ref = try row.decode(atIndex: 5)
        status = try row.decode(atIndex: 6)
        createdAt = try StoredDate.decode(row, atIndex: 7)
        startedAt = try StoredDate.decodeIfPresent(row, atIndex: 8)
        finishedAt = try StoredDate.decodeIfPresent(row, atIndex: 9)
        error = try row.decode(atIndex: 10)
        owner = try row.decode(atIndex: 11)
        trigger = try row.decode(atIndex: 12)
        retryOf = try row.decode(atIndex: 13)
        retried = try row.decode(atIndex: 14)
        requestedEnv = try row.decode(atIndex: 15)
        notBefore = try StoredDate.decodeIfPresent(row, atIndex: 16)
        let summary: String? = try row.decode(atIndex: 17)
        testSummary = try summary.map { try JSONDecoder().decode(TestSummary.self, from: Data($0.utf8)) }
        let libraries: String? = try row.decode(atIndex: 18)
        self.libraries = try libraries.map { try JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }
        causeLibrary = try row.decode(atIndex: 19)
        causeCommit = try row.decode(atIndex: 20)
    }

    /// The JSON text of a libraries column, keys sorted.
    static func librariesJSON(_ libraries: [String: String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(libraries), as: UTF8.self)
    }
}

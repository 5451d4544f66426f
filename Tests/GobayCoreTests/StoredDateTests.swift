import Foundation
import GRDB
import Testing

@testable import GobayCore

/// StoredDate writes what GRDB's own `Date` conversion writes, so rows written either way compare
/// and read back the same.
@Suite("database: stored dates")
struct StoredDateTests {
    @Test func matchesGRDBsFormatting() throws {
        var generator = SystemRandomNumberGenerator()
        let fixed = [
            Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 1_795_000_000.123),
            Date(timeIntervalSince1970: 1_795_000_000.9999), Date(timeIntervalSince1970: 1_795_000_000.0005),
            Date(timeIntervalSince1970: 951_782_400.5),  // 2000-02-29
        ]
        let random = (0..<20_000).map { _ in
            Date(timeIntervalSince1970: Double.random(in: 0..<4_102_444_800, using: &generator))
        }
        for date in fixed + random + [Date()] {
            #expect(StoredDate.value(date) == date.databaseValue, "\(date.timeIntervalSince1970)")
        }
    }

    @Test func readsWhatGRDBReads() throws {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<20_000).map { _ in
            Date(timeIntervalSince1970: Double.random(in: 0..<4_102_444_800, using: &generator))
        }
        let texts = random.map { StoredDate.string($0) } + [
            "2026-11-27 10:28:50", "2026-11-27T10:28:50.5", "2000-02-29 23:59:59.999", "1970-01-01 00:00:00.000",
        ]
        for text in texts {
            let ours = try #require(StoredDate.date(text.databaseValue), "\(text)")
            let grdbs = try #require(Date.fromDatabaseValue(text.databaseValue), "\(text)")
            #expect(abs(ours.timeIntervalSince(grdbs)) < 0.000_5, "\(text)")
        }
        // Other forms are GRDB's to read (a julian day number, a bare date); nonsense is nil.
        #expect(StoredDate.date(2_461_000.5.databaseValue) == Date.fromDatabaseValue(2_461_000.5.databaseValue))
        #expect(StoredDate.date("2026-11-27".databaseValue) == Date.fromDatabaseValue("2026-11-27".databaseValue))
        #expect(StoredDate.date("2026-13-27 10:00:00") == nil && StoredDate.date("2026-11-27 10:00:00.") == nil)
        #expect(StoredDate.date("2026-11-27 10:0a:00") == nil)
    }

    @Test func aBuildRowReadsBackAsWritten() throws {
        let database = try AppDatabase(DatabaseQueue())
        let created = Date(timeIntervalSince1970: 1_795_000_000.123)
        let summary = TestSummary(passed: 3, failed: 1, skipped: 0, failedTests: ["TestX"])
        var build = StoredBuild(
            project: "api", environment: "modern", goVersion: "1.22.10", commit: "abc", ref: "main",
            status: .succeeded, createdAt: created, startedAt: created.addingTimeInterval(1),
            finishedAt: created.addingTimeInterval(2), error: "e", owner: "me", trigger: .api, retryOf: 7,
            retried: true, requestedEnv: "modern", notBefore: created, testSummary: summary)
        try database.writer.write { db in try build.insert(db) }
        let id = try #require(build.id)
        let read = try database.writer.read { db in try StoredBuild.fetchOne(db, key: id) }
        let row = try #require(read)
        #expect(row.project == "api" && row.environment == "modern" && row.goVersion == "1.22.10")
        #expect(row.status == .succeeded && row.trigger == .api && row.retryOf == 7 && row.retried)
        // Stored to the millisecond.
        func near(_ date: Date?, _ offset: TimeInterval) -> Bool {
            date.map { abs($0.timeIntervalSince(created) - offset) < 0.001 } ?? false
        }
        #expect(near(row.createdAt, 0) && near(row.notBefore, 0) && near(row.startedAt, 1) && near(row.finishedAt, 2))
        #expect(row.error == "e" && row.owner == "me" && row.requestedEnv == "modern")
        #expect(row.testSummary == summary)
    }
}

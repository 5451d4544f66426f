import Foundation
import GRDB

extension AppDatabase {
    /// When the earliest waiting build whose quiet period is not over after `now` may start, or
    /// nil when none waits: the scheduler sleeps until then.
    public func nextQueuedStart(after now: Date) throws -> Date? {
        try writer.read { db in
            try String.fetchOne(
                db,
                sql: """
                    SELECT MIN(not_before) FROM build
                    WHERE status = 'queued' AND owner IS NULL AND not_before > ?
                    """,
                arguments: [Timestamp.string(now)])
        }.flatMap(Timestamp.date)
    }
}

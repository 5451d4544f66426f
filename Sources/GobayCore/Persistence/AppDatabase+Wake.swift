import Foundation
import GRDB

extension AppDatabase {
    /// When the earliest waiting build whose quiet period is not over after `now` may start, or
    /// nil when none waits: the scheduler sleeps until then.
    public func nextQueuedStart(after now: Date) async throws -> Date? {
        try await writer.read { db in
            let notBefore = StoredBuild.Columns.notBefore
            let earliest = try DatabaseValue.fetchOne(
                db, StoredBuild.all().waiting().filter(notBefore > StoredDate.value(now)).select(min(notBefore)))
            return earliest.flatMap(StoredDate.date)
        }
    }
}

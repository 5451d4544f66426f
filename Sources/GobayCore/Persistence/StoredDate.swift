import Foundation
import GRDB

/// A `Date` as GRDB stores one: "yyyy-MM-dd HH:mm:ss.SSS" in UTC, to the nearest millisecond. Made
/// with strftime: GRDB's `DateFormatter` cost more than the rest of a webhook's transaction.
enum StoredDate {
    /// The database value GRDB would store for `date`, made without a `DateFormatter`.
    static func value(_ date: Date) -> DatabaseValue { string(date).databaseValue }

    /// The text GRDB would store for `date`.
    static func string(_ date: Date) -> String {
        // As Foundation's formatter computes it: milliseconds since 1970 from the reference date, rounded.
        let millis = ((date.timeIntervalSinceReferenceDate + Date.timeIntervalBetween1970AndReferenceDate) * 1000)
            .rounded()
        return Timestamp.utc(millisecondsSince1970: Int64(millis), separator: " ", zone: "")
    }
}

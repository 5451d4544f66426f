import Foundation
import GRDB

/// A `Date` as GRDB stores one: "yyyy-MM-dd HH:mm:ss.SSS" in UTC, to the nearest millisecond. Made
/// with strftime: GRDB's `DateFormatter` cost more than the rest of a webhook's transaction.
enum StoredDate {
    /// The database value GRDB would store for `date`, made without a `DateFormatter`.
    static func value(_ date: Date) -> DatabaseValue { string(date).databaseValue }

    /// The text GRDB would store for `date`.
    static func string(_ date: Date) -> String {
        // As Foundation's formatter computes it: milliseconds since 1970 from the reference date,
        // rounded.
        let millis = ((date.timeIntervalSinceReferenceDate + Date.timeIntervalBetween1970AndReferenceDate) * 1000)
            .rounded()
        var (seconds, fraction) = Int64(millis).quotientAndRemainder(dividingBy: 1000)
        if fraction < 0 {
            seconds -= 1
            fraction += 1000
        }
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(unsafeUninitializedCapacity: 24) { text in
            guard let base = text.baseAddress else { return 0 }
            let written = base.withMemoryRebound(to: CChar.self, capacity: 24) {
                strftime($0, 24, "%Y-%m-%d %H:%M:%S.", &parts)
            }
            guard written == 20 else { return 0 }
            text[20] = UInt8(truncatingIfNeeded: 48 + fraction / 100)
            text[21] = UInt8(truncatingIfNeeded: 48 + fraction / 10 % 10)
            text[22] = UInt8(truncatingIfNeeded: 48 + fraction % 10)
            return 23
        }
    }
}

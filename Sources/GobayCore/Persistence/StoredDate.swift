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

extension StoredDate {
    /// The date of a stored value, read without GRDB's `Calendar` (which starts ICU, a few ms of
    /// every `gobay build`): "yyyy-MM-dd HH:mm:ss[.SSS]" in UTC as gobay and GRDB write it; any
    /// other form is left to GRDB.
    @Sendable static func date(_ value: DatabaseValue) -> Date? {
        if case .string(let text) = value.storage, let date = date(text) { return date }
        return Date.fromDatabaseValue(value)
    }

    /// The date in column `index` of `row`, or nil for NULL.
    static func decodeIfPresent(_ row: Row, atIndex index: Int) throws -> Date? {
        let value: DatabaseValue = row[index]
        if value.isNull { return nil }
        guard let date = date(value) else {
            throw GobayError.failure("the build history holds \(value) where a date belongs (column \(index))")
        }
        return date
    }

    /// The date in column `index` of `row`, which may not be NULL.
    static func decode(_ row: Row, atIndex index: Int) throws -> Date {
        guard let date = try decodeIfPresent(row, atIndex: index) else {
            throw GobayError.failure("the build history holds NULL where a date belongs (column \(index))")
        }
        return date
    }

    /// The date of "yyyy-MM-dd HH:mm:ss" with an optional fraction of a second, in UTC.
    static func date(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 19, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: " ") || bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"),
            bytes[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for byte in bytes[from..<(from + count)] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
            let minute = number(14, 2), let second = number(17, 2), (1...12).contains(month), (1...31).contains(day),
            hour < 24, minute < 60, second < 61
        else { return nil }
        var fraction = 0.0
        if bytes.count > 19 {
            guard bytes[19] == UInt8(ascii: "."), bytes.count > 20, let digits = number(20, bytes.count - 20) else {
                return nil
            }
            fraction = Double(digits) / pow(10, Double(bytes.count - 20))
        }
        var parts = tm()
        (parts.tm_year, parts.tm_mon, parts.tm_mday) = (Int32(year - 1900), Int32(month - 1), Int32(day))
        (parts.tm_hour, parts.tm_min, parts.tm_sec) = (Int32(hour), Int32(minute), Int32(second))
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}

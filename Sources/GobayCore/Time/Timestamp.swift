import Foundation

/// RFC 3339 timestamps with milliseconds, the one format gobay's JSON and logs show.
public enum Timestamp {
    /// Formats `date` as RFC 3339 in UTC with milliseconds, rounded to the nearest millisecond
    /// (a time read back from the database is exact to the millisecond).
    public static func string(_ date: Date) -> String {
        utc(millisecondsSince1970: Int64((date.timeIntervalSince1970 * 1000).rounded()), separator: "T", zone: "Z")
    }

    /// `yyyy-MM-dd<separator>HH:mm:ss.SSS<zone>` in UTC for a count of milliseconds since 1970: the
    /// one formatter of the RFC 3339 text here and of the text GRDB stores (`StoredDate`). strftime
    /// and three digits by hand: String(format:) and DateFormatter cost more than the whole
    /// database read of a long listing, or a webhook's transaction.
    static func utc(millisecondsSince1970 millis: Int64, separator: Character, zone: String) -> String {
        var (seconds, fraction) = millis.quotientAndRemainder(dividingBy: 1000)
        if fraction < 0 {
            seconds -= 1
            fraction += 1000
        }
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        let format = "%Y-%m-%d\(separator)%H:%M:%S."
        let zone = Array(zone.utf8)
        return String(unsafeUninitializedCapacity: 24 + zone.count) { text in
            guard let base = text.baseAddress else { return 0 }
            let written = base.withMemoryRebound(to: CChar.self, capacity: 24) { strftime($0, 24, format, &parts) }
            guard written == 20 else { return 0 }
            text[20] = UInt8(truncatingIfNeeded: 48 + fraction / 100)
            text[21] = UInt8(truncatingIfNeeded: 48 + fraction / 10 % 10)
            text[22] = UInt8(truncatingIfNeeded: 48 + fraction % 10)
            for (index, byte) in zone.enumerated() { text[23 + index] = byte }
            return 23 + zone.count
        }
    }

    /// Parses a timestamp written by `string(_:)`.
    public static func date(_ text: String) -> Date? {
        try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }
}

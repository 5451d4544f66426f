import Foundation

/// RFC 3339 timestamps with milliseconds, the one format gobay's JSON and logs show.
public enum Timestamp {
    /// Formats `date` as RFC 3339 in UTC with milliseconds, rounded to the nearest millisecond
    /// (a time read back from the database is exact to the millisecond).
    public static func string(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var t = time_t(millis.quotientAndRemainder(dividingBy: 1000).quotient)
        var fraction = Int(millis - Int64(t) * 1000)
        if fraction < 0 {
            t -= 1
            fraction += 1000
        }
        var parts = tm()
        gmtime_r(&t, &parts)
        // strftime and three digits by hand: String(format:) cost more than the whole database
        // read of a long listing.
        return String(unsafeUninitializedCapacity: 24) { text in
            guard let base = text.baseAddress else { return 0 }
            let written = base.withMemoryRebound(to: CChar.self, capacity: 24) {
                strftime($0, 24, "%Y-%m-%dT%H:%M:%S.", &parts)
            }
            guard written == 20 else { return 0 }
            text[20] = UInt8(truncatingIfNeeded: 48 + fraction / 100)
            text[21] = UInt8(truncatingIfNeeded: 48 + fraction / 10 % 10)
            text[22] = UInt8(truncatingIfNeeded: 48 + fraction % 10)
            text[23] = UInt8(ascii: "Z")
            return 24
        }
    }

    /// Parses a timestamp written by `string(_:)`.
    public static func date(_ text: String) -> Date? {
        try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }
}

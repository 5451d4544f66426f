/// Splits a byte stream into lines, tolerating invalid UTF-8 and carriage returns.
struct LineSplitter {
    private var pending: [UInt8] = []

    mutating func feed(_ bytes: [UInt8]) -> [String] {
        pending += bytes
        var lines: [String] = []
        var start = 0
        for i in pending.indices where pending[i] == UInt8(ascii: "\n") {
            var end = i
            if end > start && pending[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            lines.append(String(decoding: pending[start..<end], as: UTF8.self))
            start = i + 1
        }
        pending.removeFirst(start)
        return lines
    }

    mutating func finish() -> String? {
        defer { pending = [] }
        return pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self)
    }
}

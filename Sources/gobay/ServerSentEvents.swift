/// Parses a `text/event-stream` as its bytes arrive: `event:` names the next event, `data:` lines
/// are its lines, and an empty line ends it (the next one is a plain `message` again).
struct ServerSentEvents {
    /// One data line of an event.
    struct Event: Equatable {
        /// The event's name: `message` unless an `event:` line named it.
        var name: String
        /// The text after `data: `.
        var data: String
    }

    private var pending: [UInt8] = []
    private var name = "message"

    /// Takes the next bytes of the stream and returns the data lines they complete.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [Event] {
        pending.append(contentsOf: bytes)
        var events: [Event] = []
        var start = pending.startIndex
        while let newline = pending[start...].firstIndex(of: 0x0A) {
            let line = String(decoding: pending[start..<newline], as: UTF8.self)
            start = newline + 1
            if line.hasPrefix("event: ") {
                name = String(line.dropFirst(7))
            } else if line.hasPrefix("data: ") {
                events.append(Event(name: name, data: String(line.dropFirst(6))))
            } else if line.isEmpty {
                name = "message"
            }
        }
        pending.removeSubrange(pending.startIndex..<start)
        return events
    }
}

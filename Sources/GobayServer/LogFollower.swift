import Foundation
import GobayCore
import Hummingbird

/// Streams a build's log as Server-Sent Events: the lines so far, then new lines as they are
/// written, then an `end` event carrying the build's final status. Between changes the stream
/// waits on the server's `BuildDirectoryWatcher`, woken by the log's writer (in this process or
/// another) and by the final status, and reads nothing.
struct LogFollower: Sendable {
    /// Where the followed build or deployment stands.
    struct State: Sendable {
        /// Its status, as the API writes it.
        var status: String
        /// Whether it has ended.
        var isFinal: Bool
        /// Whether it still waits in a queue (its log may not exist yet).
        var queued: Bool
    }

    let watcher: BuildDirectoryWatcher?
    /// The build's or deployment's id, for the end event.
    let id: Int64
    let path: String
    /// The byte offset to start at (a page that shows the log's tail follows from its end).
    var start: UInt64 = 0
    /// Reads where it stands now.
    let state: @Sendable () async -> State?

    /// Follows build `id`'s log.
    init(database: AppDatabase, watcher: BuildDirectoryWatcher?, buildID: Int64, path: String) {
        self.watcher = watcher
        self.id = buildID
        self.path = path
        self.state = {
            (try? await database.build(buildID)).flatMap { $0 }.map {
                State(status: $0.status.rawValue, isFinal: $0.status.isFinal, queued: $0.status == .queued)
            }
        }
    }

    /// Follows any log whose state `state` reads.
    init(watcher: BuildDirectoryWatcher?, id: Int64, path: String, state: @escaping @Sendable () async -> State?) {
        self.watcher = watcher
        self.id = id
        self.path = path
        self.state = state
    }

    func response() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        let (watcher, id, path, state, start) = (self.watcher, self.id, self.path, self.state, self.start)
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                let subscription = watcher?.subscribe((path as NSString).deletingLastPathComponent)
                defer { subscription?.cancel() }
                var offset = start
                var pending = Data()
                while true {
                    // Changes are counted before the status and the file are read, so none made
                    // after this look is missed.
                    let seen = subscription?.changes ?? 0
                    // Read the status before the file, so no line written before the end is missed.
                    let record = await state()
                    let (chunk, next) = Self.read(path, from: offset)
                    offset = next
                    pending.append(chunk)
                    var events = ""
                    while let newline = pending.firstIndex(of: 0x0A) {
                        let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                        pending.removeSubrange(pending.startIndex...newline)
                        events += "data: \(line)\n\n"
                    }
                    if !events.isEmpty { try await writer.write(ByteBuffer(string: events)) }
                    if let record, record.isFinal {
                        if !pending.isEmpty {
                            try await writer.write(ByteBuffer(string: "data: \(String(decoding: pending, as: UTF8.self))\n\n"))
                        }
                        let end = #"{"id":\#(id),"status":"\#(record.status)"}"#
                        try await writer.write(ByteBuffer(string: "event: end\ndata: \(end)\n\n"))
                        try await writer.finish(nil)
                        return
                    }
                    if let subscription {
                        await subscription.wait(after: seen, queued: record?.queued ?? false)
                        try Task.checkCancellation()
                    } else {
                        // No inotify (not Linux, or no instance left): look again after a while.
                        try await Task.sleep(for: .milliseconds(150))
                    }
                }
            })
    }

    /// What the file holds from `offset` on, and the new offset.
    static func read(_ path: String, from offset: UInt64) -> (Data, UInt64) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return (Data(), offset) }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: offset)
            let data = try handle.readToEnd() ?? Data()
            return (data, offset + UInt64(data.count))
        } catch {
            return (Data(), offset)
        }
    }
}

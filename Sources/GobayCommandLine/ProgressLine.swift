import Foundation
import Synchronization

/// A one-line progress bar for a terminal: redrawn at most `rate` times a second (and once at
/// the end), and ended with a newline before anything else is printed, so no message is glued to
/// the bar's line.
public final class ProgressLine: Sendable {
    private struct State {
        var lastDraw: TimeInterval = -.infinity
        var open = false
    }

    private let state = Mutex(State())
    private let minimumInterval: TimeInterval
    private let write: @Sendable (String) -> Void
    private let now: @Sendable () -> TimeInterval

    /// Creates a bar that writes through `write` (default: stderr) at most `rate` times a second.
    public init(
        rate: Double = 10, write: @escaping @Sendable (String) -> Void = ProgressLine.standardError,
        now: @escaping @Sendable () -> TimeInterval = { ProcessInfo.processInfo.systemUptime }
    ) {
        minimumInterval = 1 / rate
        self.write = write
        self.now = now
    }

    /// Writes `text` to stderr.
    public static let standardError: @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }

    /// Shows `done` of `total` bytes, unless the last redraw was too recent (the last one always shows).
    public func update(_ done: Int64, _ total: Int64?) {
        let time = now()
        let complete = total.map { done >= $0 } ?? false
        let draw = state.withLock { state -> Bool in
            guard complete || time - state.lastDraw >= minimumInterval else { return false }
            state.lastDraw = time
            state.open = true
            return true
        }
        if draw { write("\r" + Self.render(done, total)) }
    }

    /// Ends the bar's line, if one is showing; call it before printing anything else.
    public func finish() {
        let wasOpen = state.withLock { state -> Bool in
            defer { state.open = false }
            return state.open
        }
        if wasOpen { write("\n") }
    }

    /// `[#####.....]  50% 1.0/2.0 MB`, or `1.0 MB` with no known total.
    static func render(_ done: Int64, _ total: Int64?) -> String {
        let mb = Double(done) / 1_048_576
        guard let total, total > 0 else { return String(format: "%.1f MB", mb) }
        let fraction = min(1, Double(done) / Double(total))
        let filled = Int(fraction * 30)
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled) + "] "
            + String(format: "%3.0f%% %.1f/%.1f MB", fraction * 100, mb, Double(total) / 1_048_576)
    }
}

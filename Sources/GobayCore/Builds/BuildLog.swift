import Foundation

/// A build's log: timestamped lines appended to `<build dir>/log` and echoed live.
public final class BuildLog: @unchecked Sendable {
    /// The log file.
    public let path: String
    private let handle: FileHandle?
    private let echo: (@Sendable (String) -> Void)?
    private let lock = NSLock()

    /// Opens the log for appending; `echo` receives every line as written (e.g. the terminal).
    public init(path: String, echo: (@Sendable (String) -> Void)?) throws {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        handle = FileHandle(forWritingAtPath: path)
        _ = try handle?.seekToEnd()
        self.echo = echo
    }

    deinit { try? handle?.close() }

    /// Appends `line` as written by `step`.
    public func write(_ step: String, _ line: String) {
        // Tools print URLs; a password inside one never reaches the log.
        let text = "\(Timestamp.string(Date())) [\(step)] \(SecretMask.urlPasswords(line))"
        lock.lock()
        handle?.write(Data((text + "\n").utf8))
        lock.unlock()
        echo?(text)
    }
}

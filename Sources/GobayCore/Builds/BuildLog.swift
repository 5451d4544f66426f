import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A build's log: timestamped lines appended to `<build dir>/log` and echoed live. Every known
/// secret value is masked in each line before it is written or echoed, and a failed write (a full
/// disk) is remembered instead of crashing: the build then ends failed with the reason.
public final class BuildLog: Sendable {
    /// The log file.
    public let path: String
    private let echo: (@Sendable (String) -> Void)?
    private let secrets: SecretValues
    /// The descriptor (-1 once closed) and the first write error.
    private let file: Mutex<(fd: Int32, writeError: Int32)>

    /// Opens the log for appending; `echo` receives every line as written (e.g. the terminal);
    /// `secrets` are masked wherever they appear.
    public init(path: String, secrets: SecretValues = SecretValues([]), echo: (@Sendable (String) -> Void)?) throws {
        self.path = path
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard fd >= 0 else {
            throw GobayError.failure("cannot open the build log \(path): \(String(cString: strerror(errno)))")
        }
        file = Mutex((fd, 0))
        self.secrets = secrets
        self.echo = echo
    }

    deinit { close() }

    /// Closes the log; later lines are echoed only. Followers take the close as the sign that the
    /// build's final status is on record.
    public func close() {
        file.withLock { file in
            if file.fd >= 0 { Glibc.close(file.fd) }
            file.fd = -1
        }
    }

    /// A log line as every build log writes one: the time, `[step]`, the text.
    public static func line(_ step: String, _ text: String, at time: Date = Date()) -> String {
        "\(Timestamp.string(time)) [\(step)] \(text)"
    }

    /// Appends `line` as written by `step`.
    public func write(_ step: String, _ line: String) {
        // Tools print URLs and, on purpose or not, secrets; neither reaches the log.
        let text = Self.line(step, secrets.mask(SecretMask.urlPasswords(line)))
        let bytes = Array((text + "\n").utf8)
        file.withLock { file in
            guard file.writeError == 0, file.fd >= 0 else { return }
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(file.fd, $0.baseAddress.map { $0 + offset }, bytes.count - offset) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 {
                    file.writeError = errno
                    break
                }
                offset += n
            }
        }
        echo?(text)
    }

    /// `text` with every known secret masked, as log lines are.
    public func mask(_ text: String) -> String { secrets.mask(SecretMask.urlPasswords(text)) }

    /// Why the log could not be written (e.g. "No space left on device"), or nil.
    public var failure: String? {
        let code = file.withLock { $0.writeError }
        return code == 0 ? nil : String(cString: strerror(code)).lowercased()
    }
}

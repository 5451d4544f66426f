import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A build's log: timestamped lines appended to `<build dir>/log` and echoed live. Every known
/// secret value is masked in each line before it is written or echoed, and a failed write (a full
/// disk) is remembered instead of crashing: the build then ends failed with the reason.
public final class BuildLog: @unchecked Sendable {  // @unchecked: `fd` is fixed; `writeError` is guarded by `lock`.
    /// The log file.
    public let path: String
    private let fd: Int32
    private let echo: (@Sendable (String) -> Void)?
    private let secrets: SecretValues
    private let lock = NSLock()
    private var writeError: Int32 = 0

    /// Opens the log for appending; `echo` receives every line as written (e.g. the terminal);
    /// `secrets` are masked wherever they appear.
    public init(path: String, secrets: SecretValues = SecretValues([]), echo: (@Sendable (String) -> Void)?) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard fd >= 0 else {
            throw GobayError.failure("cannot open the build log \(path): \(String(cString: strerror(errno)))")
        }
        self.secrets = secrets
        self.echo = echo
    }

    deinit { close(fd) }

    /// Appends `line` as written by `step`.
    public func write(_ step: String, _ line: String) {
        // Tools print URLs and, on purpose or not, secrets; neither reaches the log.
        let text = "\(Timestamp.string(Date())) [\(step)] \(secrets.mask(SecretMask.urlPasswords(line)))"
        let bytes = Array((text + "\n").utf8)
        lock.lock()
        if writeError == 0 {
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress.map { $0 + offset }, bytes.count - offset) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 {
                    writeError = errno
                    break
                }
                offset += n
            }
        }
        lock.unlock()
        echo?(text)
    }

    /// `text` with every known secret masked, as log lines are.
    public func mask(_ text: String) -> String { secrets.mask(SecretMask.urlPasswords(text)) }

    /// Why the log could not be written (e.g. "No space left on device"), or nil.
    public var failure: String? {
        lock.lock()
        defer { lock.unlock() }
        return writeError == 0 ? nil : String(cString: strerror(writeError)).lowercased()
    }
}

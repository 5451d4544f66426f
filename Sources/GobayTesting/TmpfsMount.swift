import Foundation
import GobayCore

/// A tiny tmpfs mounted in a test's sandbox (tests run as root), so writes run out of space for
/// real. Unmounted (lazily) when released.
public final class TmpfsMount: Sendable {
    /// The mount point.
    public let path: String

    /// Mounts a tmpfs of `size` (e.g. "4m") at `<sandbox>/<name>`.
    public init(_ sandbox: TestSandbox, name: String = "tiny", size: String) throws {
        path = sandbox.path + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let result = try ProcessRunner.capture(
            ProcessSpec(["mount", "-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path], environment: Self.environment))
        guard result.outcome.succeeded else { throw GobayError.failure("cannot mount a tmpfs: \(result.stderr)") }
    }

    deinit {
        _ = try? ProcessRunner.capture(ProcessSpec(["umount", "-l", path], environment: Self.environment))
    }

    /// Fills the file system with `<path>/filler` until a write fails with ENOSPC; returns the bytes written.
    @discardableResult
    public func fill() throws -> Int {
        let filler = path + "/filler"
        let fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw GobayError.failure("cannot create \(filler): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x2E, count: 64 * 1024)
        var total = 0
        var size = chunk.count
        while size > 0 {
            let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, size) }
            if n > 0 {
                total += n
            } else if n < 0 && errno == ENOSPC || n == 0 {
                size /= 2  // fill the last pages too
            } else if errno != EINTR {
                throw GobayError.failure("cannot fill \(filler): \(String(cString: strerror(errno)))")
            }
        }
        return total
    }

    /// Removes what `fill()` wrote.
    public func free() throws { try FileManager.default.removeItem(atPath: path + "/filler") }

    private static let environment = ["PATH": "/usr/bin:/bin:/usr/sbin:/sbin"]
}

import Foundation
import GobayCore

/// A temp directory for one test, removed when the test is done with it.
public final class TestSandbox: Sendable {
    /// The directory.
    public let path: String

    /// Creates a fresh directory under the system temp dir.
    public init(_ label: String = "test") throws {
        path = NSTemporaryDirectory() + "gobay-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` to `relative` inside the sandbox, creating directories.
    @discardableResult
    public func write(_ relative: String, _ text: String) throws -> String {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
        return full
    }

    /// Whether `relative` exists inside the sandbox.
    public func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path + "/" + relative) }
}

import Foundation
import GobayCore

/// A real git repository made for a test, committed to with fixed identities.
public struct GitFixture: Sendable {
    /// The repository's work tree.
    public let path: String

    /// Creates a repository at `path` on `branch` with `files`, committed once.
    public init(path: String, branch: String = "main", files: [String: String]) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Git.run(["init", "--quiet", "--initial-branch", branch, path])
        try commit(files, message: "initial")
    }

    /// Writes `files` and commits them; returns the new commit id.
    @discardableResult
    public func commit(_ files: [String: String], message: String) throws -> String {
        for (name, text) in files {
            let full = path + "/" + name
            try FileManager.default.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        try Git.run(["-C", path, "add", "--all"])
        try Git.run([
            "-C", path, "-c", "user.name=gobay-test", "-c", "user.email=test@gobay.invalid", "commit", "--quiet",
            "--message", message,
        ])
        return try head()
    }

    /// The current commit id.
    public func head() throws -> String { try Git.run(["-C", path, "rev-parse", "HEAD"]) }
}

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

/// Go sources the tests build.
public enum GoSources {
    /// A main package that prints its Go version, optionally calling into `imports`.
    public static func versionPrinter(extraImport: String? = nil, call: String? = nil, body: String = "") -> String {
        var imports = ["\"fmt\"", "\"runtime\""]
        if let extraImport { imports.append("\"\(extraImport)\"") }
        return """
            package main

            import (
            \(imports.map { "\t" + $0 }.joined(separator: "\n"))
            )

            var version = "dev"

            func main() {
            \(body)
            \tfmt.Println(runtime.Version()\(call.map { ", " + $0 } ?? ""))
            }

            """
    }

    /// A test file whose test sleeps `seconds`; it logs a fresh UUID so `go test` can never answer
    /// from its cache, and the build really sits in the test step.
    public static func sleepingTest(seconds: Int) -> String {
        """
        package main

        import (
        \t"testing"
        \t"time"
        )

        func TestSleep(t *testing.T) { t.Log("\(UUID().uuidString)"); time.Sleep(\(seconds) * time.Second) }

        """
    }
}

import Foundation
import GobayCore

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

    /// A tiny HTTP service to deploy: it listens on $LISTEN_HOST:$PORT (LISTEN_HOST 127.0.0.1 when
    /// unset), answers `/version` with `version` and `/health` with the status code in `health`;
    /// with `crash` "yes" it exits 1 at once. All three are set with
    /// `-ldflags "-X main.version=v2 -X main.health=500 -X main.crash=yes"`.
    public static func deployService(filePath: String = #filePath) throws -> String {
        // Shared with bench/deploy: Tests/Fixtures/deploy-service.go in this repository.
        let root = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("Tests/Fixtures/deploy-service.go"), encoding: .utf8)
    }
}

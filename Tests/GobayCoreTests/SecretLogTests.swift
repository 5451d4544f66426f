import Foundation
import GobayCore
import GobayTesting
import Testing

/// Secrets never reach a build log, however they get into a tool's output.
@Suite("secrets in build logs")
struct SecretLogTests {
    /// A compiler error that quotes configured secrets (a literal webhook secret and an API token
    /// read with `{env: …}`) shows `***` in their place, live and in the stored log.
    @Test func compilerErrorQuotingSecretsIsMasked() throws {
        let world = try BuildWorld(label: "secret-log")
        let hookSecret = "hooksecret\(UUID().uuidString.prefix(8).lowercased())"
        let apiToken = "apitoken\(UUID().uuidString.prefix(8).lowercased())"
        try world.appendConfig(
            """
            server:
              webhook_secret: \(hookSecret)
              tokens: [{env: GOBAY_TEST_API_TOKEN}]
            """)
        try world.modern.commit(
            ["main.go": "package main\n\nimport (\n\t_ \"\(hookSecret).example/x\"\n\t_ \"\(apiToken).example/y\"\n)\n\nfunc main() {}\n"],
            message: "imports named after secrets")
        var spec = world.gobay.spec(["build", "modern-svc", "--json"])
        spec.environment["GOBAY_TEST_API_TOKEN"] = apiToken
        let (outcome, out, err) = try ProcessRunner.capture(spec, deadline: Date().addingTimeInterval(300))
        #expect(outcome.status == 1)
        #expect(err.contains("***.example/x") && err.contains("***.example/y"), "\(err)")
        #expect(!err.contains(hookSecret) && !err.contains(apiToken))
        let record = try world.decodeBuild(out)
        let log = try world.gobay.run(["log", "\(record.id)"]).stdout
        #expect(log.contains("***.example/x"), "\(log)")
        #expect(!log.contains(hookSecret) && !log.contains(apiToken))
    }

    /// A log that cannot be written (a full disk) is remembered, not a crash.
    @Test func logOnAFullDeviceReportsNoSpace() throws {
        let log = try BuildLog(path: "/dev/full", echo: nil)
        log.write("build", "a line")
        #expect(log.failure == "no space left on device")
    }
}

import Foundation
import GobayCore
import GobayTesting
import Testing

/// In process: trigger validation is the router's.
@Suite("server: the API refuses what the CLI refuses")
struct TriggerValidationTests {
    @Test func aMissingRefIs422AndAnUnknownFieldIs400() async throws {
        let sw = try ServerWorld(label: "trigger")
        try await sw.inProcess().test { server in
            let path = "/api/v1/projects/modern-svc/builds"
            let nope = try await server.send("POST", path, headers: sw.auth, body: Data(#"{"ref": "nope"}"#.utf8))
            #expect(nope.status == 422, "\(nope.text)")
            #expect((nope.json?["error"] as? String)?.contains("ref \"nope\" does not exist") == true, "\(nope.text)")
            #expect(nope.json?["hint"] != nil)

            let field = try await server.send(
                "POST", path, headers: sw.auth, body: Data(#"{"ref": "main", "branch": "x"}"#.utf8))
            #expect(field.status == 400, "\(field.text)")
            #expect((field.json?["error"] as? String)?.contains("unknown field \"branch\"") == true, "\(field.text)")

            let commit = try await server.send(
                "POST", path, headers: sw.auth, body: Data(#"{"commit": "deadbeefdeadbeef"}"#.utf8))
            #expect(commit.status == 422, "\(commit.text)")
            // Nothing was queued by the refusals; a good ref still is.
            let queued = try await sw.builds(server)
            #expect(queued.isEmpty)
            let good = try await server.send("POST", path, headers: sw.auth, body: Data(#"{"ref": "main"}"#.utf8))
            #expect(good.status == 202, "\(good.text)")
        }
    }
}

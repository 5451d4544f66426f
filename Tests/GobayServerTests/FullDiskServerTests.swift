import Foundation
import GobayCore
import GobayTesting
import Testing

/// Whole binary: the disk is a real full tmpfs under the data dir, and the refusals are read from the server's log.
@Suite("server: a full disk is a 503 the sender retries, and the server recovers by itself", .serialized)
struct FullDiskServerTests {
    @Test func webhooksAndTriggersAnswer503WhileTheDiskIsFullThenQueueAgain() throws {
        // A long quiet period: nothing in this test runs a build.
        let sw = try ServerWorld(label: "fullhook", quiet: "60s")
        let disk = try TmpfsMount(sw.world.sandbox, size: "4m")
        try sw.world.editConfig("data_dir: data\n", "data_dir: \(disk.path)/data\n")
        let server = try sw.start()
        let commit = try sw.world.modern.head()
        try disk.fill()

        let uuid = UUID().uuidString
        let hook = try sw.pushModern(server, commit: commit, uuid: uuid)
        #expect(hook.status == 503, "\(hook.text)")
        #expect(Int(hook.headers["retry-after"] ?? "") ?? 0 > 0, "\(hook.headers)")
        #expect(hook.headers["content-type"] == "application/json")
        #expect((hook.json?["error"] as? String)?.contains("no space left on device") == true, "\(hook.text)")
        #expect((hook.json?["hint"] as? String)?.contains("free some space") == true, "\(hook.text)")

        let trigger = server.send(
            "POST", "/api/v1/projects/modern-svc/builds", headers: sw.auth, body: Data(#"{"ref": "main"}"#.utf8))
        #expect(trigger.status == 503, "\(trigger.text)")
        #expect(trigger.headers["retry-after"] != nil)
        #expect((trigger.json?["error"] as? String)?.contains("no space left on device") == true, "\(trigger.text)")

        // Each refusal is logged as a warning with its reason.
        let refusals = server.log.split(separator: "\n").filter {
            $0.contains("warning") && $0.contains("refused a request: no space left on device")
        }
        #expect(refusals.count == 2, "\(server.log)")
        #expect(refusals.contains { $0.contains("/hooks/gitlab") })

        // Space comes back: the same delivery, sent again, is queued; nothing was recorded for it before.
        try disk.free()
        let again = try sw.pushModern(server, commit: commit, uuid: uuid)
        #expect(again.status == 202, "\(again.text)")
        #expect(again.headers["x-gobay-redelivery"] == nil)
        #expect((again.json?["queued"] as? [[String: Any]])?.count == 1, "\(again.text)")
        let triggered = server.send(
            "POST", "/api/v1/projects/modern-svc/builds", headers: sw.auth, body: Data(#"{"ref": "main"}"#.utf8))
        #expect(triggered.status == 202, "\(triggered.text)")
        #expect(sw.builds(server).count == 2)
        let metrics = server.send("GET", "/metrics", headers: sw.auth).text
        #expect(metrics.contains(#"gobay_webhook_deliveries_total{sender="gitlab",result="no_space"} 1"#), "\(metrics)")
        server.process.signal(SIGTERM)
        server.process.wait(timeout: 30)
    }
}

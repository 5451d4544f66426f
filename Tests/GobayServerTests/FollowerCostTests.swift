import Foundation
import GobayCore
import GobayTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Whole binary: the cost measured is the server process's RSS and CPU time with real SSE connections.
@Suite("server: waiting costs nothing (followers, an idle queue)", .serialized)
struct FollowerCostTests {
    /// The server's resident memory in bytes and its CPU time (user + system) in seconds.
    static func usage(of pid: pid_t) -> (rss: Int, cpu: Double) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let rssLine = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        let rssKB = rssLine.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return (rssKB * 1024, 0) }
        // After the command name: state is field 3, utime 14 and stime 15 (1-based).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        let ticks = (Double(fields.count > 12 ? fields[11] : "0") ?? 0) + (Double(fields.count > 12 ? fields[12] : "0") ?? 0)
        return (rssKB * 1024, ticks / Double(sysconf(Int32(_SC_CLK_TCK))))
    }

    /// CPU the server spends over `seconds`, as a fraction of one core.
    static func cpuShare(of pid: pid_t, over seconds: Double) -> Double {
        let before = usage(of: pid).cpu
        let start = Date()
        usleep(useconds_t(seconds * 1_000_000))
        return (usage(of: pid).cpu - before) / Date().timeIntervalSince(start)
    }

    func trigger(_ sw: ServerWorld, _ server: ServerHarness) throws -> Int64 {
        let reply = server.send(
            "POST", "/api/v1/projects/modern-svc/builds",
            headers: sw.auth.merging(["Content-Type": "application/json"]) { a, _ in a }, body: Data(#"{"ref": "main"}"#.utf8))
        #expect(reply.status == 202, "\(reply.text)")
        return Int64(try #require(reply.json?["id"] as? Int))
    }

    @Test func fiveHundredFollowersOfARunningBuildCostNothingWhileItIsQuiet() throws {
        RawConnection.raiseDescriptorLimit(to: 4096)
        let sw = try ServerWorld(label: "followers", server: "  max_connections: 2000")
        try sw.makeModernSlow(seconds: 300)
        let server = try sw.start()
        let id = try trigger(sw, server)
        for _ in 0..<1200 where !server.send("GET", "/api/v1/builds/\(id)/log", headers: sw.auth).text.contains("$ go test") {
            usleep(50_000)
        }
        let request = "GET /api/v1/builds/\(id)/log?follow=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "Authorization: Bearer \(ServerWorld.token)\r\n\r\n"
        var followers: [RawConnection] = []
        for _ in 0..<500 {
            let connection = try RawConnection(port: server.port)
            #expect(connection.send(request))
            followers.append(connection)
        }
        // Every follower has its stream and the lines so far.
        for follower in followers {
            let head = follower.read(until: "$ go test", timeout: 30)
            #expect(head.hasPrefix("HTTP/1.1 200") && head.contains("$ go test"), "\(head.prefix(200))")
        }
        usleep(500_000)
        let cpu = Self.cpuShare(of: server.process.pid, over: 5)
        let rss = Self.usage(of: server.process.pid).rss
        print("500 followers waiting: server CPU \(String(format: "%.2f", cpu * 100))% of a core, RSS \(rss / 1024 / 1024) MB")
        #expect(cpu < 0.05, "the server used \(Int(cpu * 100))% of a core with 500 followers waiting")
        #expect(rss < 100 * 1024 * 1024, "the server holds \(rss / 1024 / 1024) MB with 500 followers")

        // Cancelled through the API: its processes are gone, and every follower hears the end.
        let cancel = server.send("POST", "/api/v1/builds/\(id)/cancel", headers: sw.auth)
        #expect(cancel.status == 202, "\(cancel.text)")
        var ended = 0
        for follower in followers where follower.read(until: #""status":"canceled"}"#, timeout: 30).contains("event: end") {
            ended += 1
        }
        #expect(ended == 500)
        #expect(server.waitForBuild(id, token: ServerWorld.token)?["status"] as? String == "canceled")
        #expect(sw.leftovers().isEmpty, "\(sw.leftovers())")
    }

    @Test func anIdleServerSpendsNoCPUAndClaimsAQueuedBuildAtOnce() throws {
        let sw = try ServerWorld(label: "idle")
        let server = try sw.start()
        usleep(1_000_000)
        let cpu = Self.cpuShare(of: server.process.pid, over: 3)
        print("idle server: CPU \(String(format: "%.2f", cpu * 100))% of a core")
        #expect(cpu < 0.01, "the idle server used \(cpu * 100)% of a core")
        // Queued with no quiet period: claimed and planned at once, not at the next poll.
        let started = Date()
        let id = try trigger(sw, server)
        var claimed: TimeInterval?
        for _ in 0..<400 {
            let record = server.send("GET", "/api/v1/builds/\(id)", headers: sw.auth).json
            if record?["status"] as? String != "queued" || server.send("GET", "/api/v1/builds/\(id)/log", headers: sw.auth)
                .text.contains("build #\(id)")
            {
                claimed = Date().timeIntervalSince(started)
                break
            }
            usleep(10_000)
        }
        let seconds = try #require(claimed, "build #\(id) was never claimed")
        print("queued build claimed after \(String(format: "%.3f", seconds)) s")
        #expect(seconds < 2, "claimed after \(seconds) s")
        #expect(server.waitForBuild(id, token: ServerWorld.token)?["status"] as? String == "succeeded")
    }
}

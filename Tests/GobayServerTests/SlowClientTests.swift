import Foundation
import GobayCore
import GobayTesting
import Testing

/// Whole binary: connection limits and header timeouts live in the NIO channel, not in the router.
@Suite("server: slow, stalled and idle clients cannot hold it", .serialized)
struct SlowClientTests {
    /// Polls until `done` or `timeout`; returns whether `done` became true.
    func wait(timeout: TimeInterval, _ done: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if done() { return true }
            usleep(100_000)
        }
        return done()
    }

    @Test func twoThousandStalledConnectionsNeitherSlowTheAPINorStayOpen() throws {
        RawConnection.raiseDescriptorLimit(to: 8192)
        let sw = try ServerWorld(label: "slowloris", server: "  header_timeout: 3s\n  idle_timeout: 6s")
        let server = try sw.start()
        #expect(server.send("GET", "/api/v1/builds", headers: sw.auth).status == 200)

        // 2,000 clients that send half a request line and stall.
        var stalled: [RawConnection] = []
        for _ in 0..<2000 {
            let connection = try RawConnection(port: server.port)
            connection.send("GET /api/v1/bu")
            stalled.append(connection)
        }
        // One that sends nothing, one that half-closes, one that trickles a header byte at a time.
        let silent = try RawConnection(port: server.port)
        let halfOpen = try RawConnection(port: server.port)
        halfOpen.send("GET /api/v1/builds HTTP/1.1\r\nHo")
        halfOpen.shutdownWrite()
        let trickle = try RawConnection(port: server.port)
        trickle.send("GET /api/v1/builds HTTP/1.1\r\nX-Slow: ")
        let openedAll = Date()

        let start = Date()
        let reply = server.send("GET", "/api/v1/builds", headers: sw.auth)
        let elapsed = Date().timeIntervalSince(start)
        #expect(reply.status == 200)
        #expect(elapsed < 1, "GET /api/v1/builds took \(elapsed) s beside 2,000 stalled connections")
        // They were open while it ran.
        #expect(stalled.suffix(100).allSatisfy { !$0.closedByServer() })

        // A client that finished a request and keeps the connection: the idle timeout's, not the header timeout's.
        let keepAlive = try RawConnection(port: server.port)
        keepAlive.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(keepAlive.read(until: "ok\n", timeout: 5).contains("200 OK"))
        let answered = Date()

        // Every stalled connection is closed by the server within the header timeout (3 s, plus slack).
        let others = [silent, halfOpen, trickle]
        var open = stalled + others
        let closedInTime = wait(timeout: openedAll.addingTimeInterval(3 + 2).timeIntervalSinceNow) {
            trickle.send("x")
            open.removeAll { $0.closedByServer() }
            return open.isEmpty
        }
        #expect(closedInTime, "\(open.count) stalled connections still open \(Date().timeIntervalSince(openedAll)) s after the last opened")
        // ...and not long before it.
        #expect(Date().timeIntervalSince(stalled[0].opened) > 2.5)

        // The kept-alive connection outlives the header timeout and is closed by the idle timeout (6 s).
        usleep(useconds_t(max(0, answered.addingTimeInterval(4).timeIntervalSinceNow) * 1_000_000))
        #expect(!keepAlive.closedByServer(), "an idle kept-alive connection was closed before idle_timeout")
        #expect(wait(timeout: answered.addingTimeInterval(6 + 2).timeIntervalSinceNow) { keepAlive.closedByServer() })
        #expect(server.send("GET", "/healthz").status == 200)
    }

    @Test func theConnectionCapHoldsNewConnectionsAndSaysSo() throws {
        let sw = try ServerWorld(label: "conncap", server: "  max_connections: 20\n  header_timeout: 2s")
        let server = try sw.start()
        let held = try (0..<20).map { _ in try RawConnection(port: server.port) }
        #expect(wait(timeout: 5) { server.log.contains("connection cap reached") }, "\(server.log)")
        #expect(server.log.contains("server.max_connections=20"), "\(server.log)")
        // A new client waits in the backlog until the header timeout frees a place, then is served.
        let start = Date()
        #expect(server.send("GET", "/healthz").status == 200)
        let waited = Date().timeIntervalSince(start)
        #expect(waited > 0.5 && waited < 2 + 3, "waited \(waited) s")
        // The rest go as their own header timeouts run out.
        #expect(wait(timeout: 3) { held.allSatisfy { $0.closedByServer() } })
        #expect(wait(timeout: 5) { server.log.contains("below the connection cap again") })
    }
}

import Foundation
import GobayCore
import GobayTesting
import Testing

/// Whole binary: the cost measured is the CPU time of the CLI and server processes.
@Suite("server and CLI: a follower that waits costs nothing", .serialized)
struct FollowCostTests {
    /// `gobay build --follow` waiting on a quiet log (a test that sleeps) uses under 1% of a core,
    /// measured from /proc over four seconds after it connected and printed the test step.
    @Test func followingAQuietLogCostsUnderOnePercentOfACore() throws {
        let sw = try ServerWorld(label: "followcpu")
        try sw.makeModernSlow(seconds: 15)
        let server = try sw.start()
        var spec = sw.world.gobay.spec(["build", "modern-svc", "--server", server.baseURL, "--follow"])
        spec.environment["GOBAY_TOKEN"] = ServerWorld.token
        let cli = try ChildProcess(
            spec, stdoutPath: sw.world.sandbox.path + "/follow.out", stderrPath: sw.world.sandbox.path + "/follow.err")
        for _ in 0..<1200 where !cli.stdout.contains("$ go test") { usleep(50_000) }
        try #require(cli.stdout.contains("$ go test"), "\(cli.stdout)\(cli.stderr)")
        // Past start-up and the first lines: from here the stream is quiet until the test ends.
        usleep(500_000)
        let start = (ticks: try Self.cpuTicks(cli.pid), time: ProcessInfo.processInfo.systemUptime)
        sleep(4)
        let end = (ticks: try Self.cpuTicks(cli.pid), time: ProcessInfo.processInfo.systemUptime)
        let seconds = Double(end.ticks - start.ticks) / Double(sysconf(Int32(_SC_CLK_TCK)))
        let share = seconds / (end.time - start.time)
        #expect(share < 0.01, "the follower used \(seconds) s of CPU in \(end.time - start.time) s")
        #expect(cli.wait(timeout: 120) == 0, "\(cli.stderr)")
        #expect(cli.stdout.contains("[build] $ go build"))
    }

    /// utime + stime of `pid` (all its threads), in clock ticks, from /proc/PID/stat.
    static func cpuTicks(_ pid: pid_t) throws -> Int {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // The command name in parentheses may hold spaces; the fields after it are plain.
        guard let close = stat.lastIndex(of: ")") else { throw GobayError.failure("bad /proc/\(pid)/stat: \(stat)") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3 of stat); utime and stime are fields 14 and 15.
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else {
            throw GobayError.failure("bad /proc/\(pid)/stat: \(stat)")
        }
        return user + system
    }
}

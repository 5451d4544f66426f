import Foundation
import GobayCore
import GobayTesting
import Testing

/// scripts/install-deps, which both README commands run first.
/// Serialized, and run from the repository: two runs at once, or a working directory another test
/// removed, made the checks race into apt-get.
@Suite("scripts/install-deps", .serialized)
struct InstallDepsTests {
    /// A run that finds the lock held waits with a message naming the holder, and gives up after
    /// its timeout instead of hanging for ever (a daemon an older run started kept it).
    @Test func aHeldLockIsNamedAndTheWaitEnds() throws {
        let root = GobayBinary.repositoryRoot()
        let sandbox = try TestSandbox("install-lock")
        let cache = sandbox.path + "/cache"
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        let path = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        let holder = try ChildProcess(
            ProcessSpec(["flock", cache + "/.install-deps.lock", "sleep", "60"], environment: path),
            stdoutPath: sandbox.path + "/holder.out", stderrPath: sandbox.path + "/holder.err")
        defer {
            holder.signalGroup(SIGKILL)
            holder.wait(timeout: 10)
        }
        // flock has the lock once the file exists and it has started sleep.
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: cache + "/.install-deps.lock") { usleep(20_000) }
        usleep(200_000)
        var env = ProcessInfo.processInfo.environment
        env["GOBAY_TOOLCHAIN_CACHE"] = cache
        env["GOBAY_INSTALL_LOCK_TIMEOUT"] = "1"
        let start = Date()
        let result = try ProcessRunner.capture(
            ProcessSpec([root + "/scripts/install-deps"], environment: env, workingDirectory: root), deadline: Date().addingTimeInterval(300))
        #expect(result.outcome.status == 1)
        #expect(result.stdout.contains("held by:") && result.stdout.contains("sleep 60"), "\(result.stdout)")
        #expect(result.stderr.contains("gave up after 1 s"), "\(result.stderr)")
        #expect(Date().timeIntervalSince(start) < 120)
    }

    /// The dockerd that install-deps started must not hold the lock: it did, and the README's second command then
    /// waited for ever. scripts/test starts dockerd through install-deps, so this looks at the daemon it started.
    @Test func dockerdDoesNotHoldTheInstallLock() throws {
        let daemons = try FileManager.default.contentsOfDirectory(atPath: "/proc").filter { pid in
            pid.allSatisfy(\.isNumber)
                && (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) == "dockerd\n"
        }
        try #require(!daemons.isEmpty, "dockerd is not running; scripts/install-deps starts it")
        for pid in daemons {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            let targets = fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)") }
            #expect(!targets.contains { $0.hasSuffix("/.install-deps.lock") }, "dockerd \(pid) holds the lock: \(targets)")
        }
        // And so the next run takes the lock at once.
        var env = ProcessInfo.processInfo.environment
        env["GOBAY_INSTALL_LOCK_TIMEOUT"] = "5"
        let again = try ProcessRunner.capture(
            ProcessSpec(
                [GobayBinary.repositoryRoot() + "/scripts/install-deps"], environment: env,
                workingDirectory: GobayBinary.repositoryRoot()),
            deadline: Date().addingTimeInterval(600))
        #expect(again.outcome.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(!again.stdout.contains("waiting for"), "\(again.stdout)")
    }
}

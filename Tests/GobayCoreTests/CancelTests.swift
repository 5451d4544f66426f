import Foundation
import GobayCore
import GobayTesting
import Testing

@Suite("cancel, timeout and a killed gobay leave nothing behind", .serialized)
struct CancelTests {
    /// A test that starts a process escaping its process group (setsid), then sleeps for minutes.
    var hangingTest: String {
        """
        package main

        import (
        \t"os/exec"
        \t"testing"
        \t"time"
        )

        func TestHang(t *testing.T) {
        \tt.Log("\(UUID().uuidString)")
        \tif err := exec.Command("setsid", "sleep", "300").Start(); err != nil {
        \t\tt.Fatal(err)
        \t}
        \ttime.Sleep(5 * time.Minute)
        }

        """
    }

    /// A world whose modern-svc has a test that sleeps for minutes, so a build sits in `go test`.
    func hangingWorld(_ label: String, timeout: String = "10m") throws -> BuildWorld {
        let world = try BuildWorld(label: label)
        try world.modern.commit(
            ["hang_test.go": hangingTest],
            message: "hang")
        try world.editConfig("    branch: main\n", "    branch: main\n    test: true\n    timeout: \(timeout)\n")
        return world
    }

    func waitForTestStep(_ child: ChildProcess) {
        for _ in 0..<3000 where !child.stderr.contains("$ go test") { usleep(10_000) }
        usleep(1_500_000)
    }

    @Test func ctrlCCancelsAndKillsTheTree() throws {
        let world = try hangingWorld("cancel")
        let child = try ChildProcess(
            world.gobay.spec(["build", "modern-svc", "--json"]), stdoutPath: world.sandbox.path + "/out",
            stderrPath: world.sandbox.path + "/err")
        waitForTestStep(child)
        #expect(!world.leftoverProcesses().isEmpty, "the test should be running now")
        child.signal(SIGINT)
        #expect(child.wait(timeout: 30) == 1)
        let record = try world.decodeBuild(child.stdout)
        #expect(record.status == .canceled)
        #expect(record.steps.last?.name == "test" && record.steps.last?.status == .canceled)
        #expect(world.leftoverProcesses() == [])
    }

    @Test func timeoutMarksTimedOut() throws {
        let world = try hangingWorld("timeout", timeout: "4s")
        let start = Date()
        let result = try world.gobay.run(["build", "modern-svc", "--json"], timeout: 60)
        #expect(result.status == 1)
        #expect(Date().timeIntervalSince(start) < 30)
        let record = try world.decodeBuild(result.stdout)
        #expect(record.status == .timedOut)
        #expect(record.error?.contains("timed out") == true)
        #expect(world.leftoverProcesses() == [])
    }

    @Test func killedGobayIsMarkedInterruptedAndLeavesNoLock() throws {
        let world = try hangingWorld("killed")
        let child = try ChildProcess(
            world.gobay.spec(["build", "modern-svc"]), stdoutPath: world.sandbox.path + "/out",
            stderrPath: world.sandbox.path + "/err")
        for _ in 0..<3000 where !child.stdout.contains("$ go test") { usleep(10_000) }
        usleep(1_500_000)
        child.signal(SIGKILL)
        child.wait()
        // The next gobay notices: the build is interrupted, and what it left running is killed.
        let list = try world.gobay.run(["builds", "--json"])
        let records = try JSONDecoder().decode([BuildRecord].self, from: Data(list.stdout.utf8))
        #expect(records.map(\.status) == [.interrupted])
        #expect(records.first?.finishedAt != nil)
        #expect(world.leftoverProcesses() == [])
        // No stale lock: the project builds again at once (with the hanging test removed).
        try Git.run(["-C", world.modern.path, "rm", "--quiet", "hang_test.go"])
        try world.modern.commit([:], message: "unhang")
        let again = try world.gobay.run(["build", "modern-svc", "--json"], timeout: 120)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try world.decodeBuild(again.stdout).status == .succeeded)
    }

    @Test func cancellingTheBuildsTaskCancelsItAndKillsTheTree() async throws {
        let world = try hangingWorld("task-cancel")
        let config = try ConfigLoader.load(path: world.configPath)
        let plan = try BuildPlan.make(
            BuildRequest(project: "modern-svc"), config: config, store: ToolchainStore(dataDir: config.dataDir))
        let database = try AppDatabase(dataDir: config.dataDir)
        let runner = BuildRunner(config: config, database: database, echo: nil)
        let id = try runner.enqueue(plan)
        let build = Task { try await runner.run(plan, id: id) }
        let log = config.data.build(id).log
        for _ in 0..<3000 {
            if (try? String(contentsOfFile: log, encoding: .utf8))?.contains("$ go test") == true { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .milliseconds(1500))
        #expect(!world.leftoverProcesses().isEmpty, "the test should be running now")
        let started = Date()
        build.cancel()
        let record = try await build.value
        // Prompt, not the hanging test's end: TERM, KILL 3 s later. The bound leaves room for a
        // machine busy enough to starve this test process for a while.
        #expect(Date().timeIntervalSince(started) < 90)
        #expect(record.status == .canceled)
        #expect(record.steps.last?.name == "test" && record.steps.last?.status == .canceled)
        #expect(world.leftoverProcesses() == [])
    }
}

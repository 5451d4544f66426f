import Foundation
import GobayCore
import Testing

@Suite("processes: argv only, process groups, timeouts")
struct ProcessRunnerTests {
    let env = ["PATH": "/usr/bin:/bin"]

    @Test func argumentsAreNeverInterpretedByAShell() throws {
        let hostile = "$(touch /tmp/gobay-pwned); `id`"
        let result = try ProcessRunner.capture(ProcessSpec(["echo", hostile], environment: env))
        #expect(result.stdout == hostile + "\n")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/gobay-pwned"))
    }

    @Test func environmentIsOnlyWhatIsGiven() throws {
        let result = try ProcessRunner.capture(ProcessSpec(["env"], environment: ["PATH": "/usr/bin:/bin", "ONLY": "me"]))
        let lines = Set(result.stdout.split(separator: "\n").map(String.init))
        #expect(lines == ["PATH=/usr/bin:/bin", "ONLY=me"])
    }

    @Test func streamsLinesAndReportsExitStatus() throws {
        var lines: [String] = []
        let outcome = try ProcessRunner.run(
            ProcessSpec(["sh", "-c", "echo one; echo two >&2; printf three; exit 3"], environment: env)
        ) { lines.append($0) }
        #expect(Set(lines) == ["one", "two", "three"])
        #expect(outcome.status == 3 && !outcome.succeeded)
    }

    @Test func timeoutKillsTheWholeTreeAndLeavesNothing() throws {
        let start = Date()
        var pgid: pid_t = 0
        let outcome = try ProcessRunner.run(
            ProcessSpec(["sh", "-c", "sleep 300 & sleep 300 & echo $$; wait"], environment: env),
            deadline: Date().addingTimeInterval(1)
        ) { line in pgid = pid_t(line) ?? 0 }
        #expect(outcome.timedOut)
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(pgid > 0)
        #expect(ProcessRunner.livingMembers(ofGroup: pgid).isEmpty)
    }

    @Test func cancellingTheTaskKillsTheGroup() async throws {
        let env = self.env
        // The process runs in a child task that the parent cancels once the process is up.
        let task = Task {
            var pgid: pid_t = 0
            let outcome = try await ProcessRunner.run(
                ProcessSpec(["sh", "-c", "echo $$; sleep 300"], environment: env)
            ) { line in
                pgid = pid_t(line) ?? 0
                withUnsafeCurrentTask { $0?.cancel() }
            }
            return (outcome, pgid)
        }
        let (outcome, pgid) = try await task.value
        #expect(outcome.canceled)
        #expect(pgid > 0)
        #expect(ProcessRunner.livingMembers(ofGroup: pgid).isEmpty)
    }

    @Test func asyncTimeoutKillsTheWholeTree() async throws {
        var pgid: pid_t = 0
        let outcome = try await ProcessRunner.run(
            ProcessSpec(["sh", "-c", "sleep 300 & sleep 300 & echo $$; wait"], environment: env),
            deadline: Date().addingTimeInterval(1)
        ) { line in pgid = pid_t(line) ?? 0 }
        #expect(outcome.timedOut)
        #expect(pgid > 0)
        #expect(ProcessRunner.livingMembers(ofGroup: pgid).isEmpty)
    }

    @Test func manyProcessesAtOnceAreWaitedForWithoutAThreadEach() async throws {
        let env = self.env
        let outcomes = try await withThrowingTaskGroup(of: ProcessOutcome.self) { group in
            for i in 0..<50 {
                group.addTask {
                    try await ProcessRunner.capture(ProcessSpec(["sh", "-c", "sleep 0.2; exit \(i % 3)"], environment: env)).outcome
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.count == 50)
        #expect(outcomes.filter { $0.status == 0 }.count == 17)
    }

    @Test func missingCommandIsAClearError() {
        #expect(throws: GobayError.self) {
            try ProcessRunner.capture(ProcessSpec(["no-such-command-gobay"], environment: env))
        }
    }
}

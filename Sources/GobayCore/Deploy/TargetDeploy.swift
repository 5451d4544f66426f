import AsyncHTTPClient
import Foundation
import NIOCore

/// The steps of one target, each logged with its time:
/// 1. prepare: `<path>/releases` exists and is writable, leftovers of a killed upload go, the
///    supervisor program exists, and the release `current` points at is read;
/// 2. upload to a temp name (skipped when the release is there already with the same sha256);
/// 3. verify the sha256 on the target against the one recorded at build time;
/// 4. place: rename into `releases/<build>/<binary>`;
/// 5. switch `current` in one step: a temp symlink, then `mv -T`;
/// 6. restart, and for supervisor wait for RUNNING past its startsecs (`supervisorctl restart`
///    waits for it, and says "started");
/// 7. health, retried until its timeout;
/// 8. prune releases beyond `keep`, never the current or the previous one.
/// A failure before the switch leaves the target as it was; after it, `current` goes back to
/// the previous release, which is restarted and checked again (`rolled_back`).
struct TargetDeploy: Sendable {
    let target: DeployTargetConfig
    let plan: Deployer.Plan
    let deployment: Int64
    let database: AppDatabase
    let log: BuildLog

    private var releases: String { target.path + "/releases" }
    private var binaryName: String { plan.artifact.name }
    private var name: String { target.name }

    /// Runs the steps through `transport`; returns the target's status and, unless it
    /// succeeded, why.
    func run(_ transport: any DeployTransport) async throws -> (DeployStatus, String?) {
        let previous = try await step("prepare") { try await prepare(transport) }
        try database.startDeploymentTarget(deployment, target: name, previous: previous)
        let release = plan.build.id
        let staged = try await step("upload") { try await upload(transport, release: release) }
        if let staged {
            try await step("verify") { try await verify(transport, staged) }
            try await step("place") { try await place(transport, staged, release: release) }
        }
        try await step("switch") { try await switchCurrent(transport, to: release) }
        do {
            try await step("restart") { try await restart(transport) }
            try await step("health") { try await health(transport) }
        } catch {
            let reason = userMessage(error)
            guard let previous else {
                log.write(name, "no previous release to go back to; \(target.path)/current stays at \(release)")
                return (.failed, reason)
            }
            log.write(name, "rolling back to release \(previous)")
            do {
                try await step("rollback") {
                    try await switchCurrent(transport, to: previous)
                    try await restart(transport)
                    try await health(transport)
                }
            } catch {
                return (.failed, "\(reason); the rollback to release \(previous) failed too: \(userMessage(error))")
            }
            return (.rolledBack, reason)
        }
        do {
            try await step("prune") { try await prune(transport, keeping: [release, previous].compactMap { $0 }) }
        } catch {
            log.write(name, "warning: \(userMessage(error))")
        }
        return (.succeeded, nil)
    }

    // MARK: - steps

    /// Checks what can be checked before anything changes; returns the current release.
    private func prepare(_ transport: any DeployTransport) async throws -> Int64? {
        // An upload killed halfway leaves a temp file; `current` never pointed at it.
        let made = try await transport.runAll(
            [
                ["mkdir", "-p", "--", releases], ["test", "-w", releases],
                ["find", releases, "-maxdepth", "1", "-name", ".gobay-upload-*", "-delete"],
            ], deadline: soon)
        guard made.succeeded else {
            throw failure(
                "cannot create or write \(releases)" + (made.lastLine.isEmpty ? "" : ": \(made.lastLine)"),
                hint: "make \(target.path) writable by the deploy user")
        }
        if case .supervisor(let program, let config) = target.restart {
            let status = try await transport.run(supervisorctl(config) + ["status", program], deadline: soon)
            let text = status.stdout + status.stderr
            if text.contains("no such process") {
                throw failure(
                    "supervisor has no program \"\(program)\"",
                    hint: "add [program:\(program)] running \(target.path)/current/\(binaryName) to its config")
            }
            if status.status == 127 || text.contains("refused connection") || text.contains("no such file") {
                throw failure("supervisorctl cannot reach supervisord: \(status.lastLine)", hint: "check that supervisord runs")
            }
        }
        let link = try await transport.run(["readlink", "--", target.path + "/current"], deadline: soon)
        let text = link.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard link.succeeded, let last = text.split(separator: "/").last, let id = Int64(last) else { return nil }
        log.write(name, "current release: \(id)")
        return id
    }

    /// Uploads the binary to a temp name; nil when the release holds it already.
    private func upload(_ transport: any DeployTransport, release: Int64) async throws -> String? {
        let binary = "\(releases)/\(release)/\(binaryName)"
        let existing = try await transport.run(["sha256sum", "--", binary], deadline: soon)
        if existing.succeeded, existing.stdout.split(separator: " ").first.map(String.init) == plan.artifact.sha256 {
            log.write(name, "release \(release) is there already with sha256 \(plan.artifact.sha256)")
            return nil
        }
        let staged = "\(releases)/.gobay-upload-\(release)-\(UUID().uuidString.prefix(8).lowercased())"
        try await transport.upload(plan.artifact.path, to: staged, deadline: Date().addingTimeInterval(30 * 60))
        log.write(name, "uploaded \(plan.artifact.size) bytes to \(staged)")
        return staged
    }

    private func verify(_ transport: any DeployTransport, _ staged: String) async throws {
        let sum = try await transport.run(["sha256sum", "--", staged], deadline: soon)
        let actual = sum.stdout.split(separator: " ").first.map(String.init) ?? ""
        guard sum.succeeded, actual == plan.artifact.sha256 else {
            _ = try? await transport.run(["rm", "-f", "--", staged], deadline: soon)
            throw failure(
                "the upload's sha256 is \(actual.isEmpty ? sum.lastLine : actual), not \(plan.artifact.sha256); nothing was switched")
        }
        log.write(name, "sha256 \(actual) matches build #\(plan.build.id)")
    }

    private func place(_ transport: any DeployTransport, _ staged: String, release: Int64) async throws {
        let dir = "\(releases)/\(release)"
        let result = try await transport.runAll(
            [["chmod", "0755", "--", staged], ["mkdir", "-p", "--", dir], ["mv", "-f", "--", staged, "\(dir)/\(binaryName)"]],
            deadline: soon)
        guard result.succeeded else { throw failure("cannot place the binary in \(dir): \(result.lastLine)") }
    }

    /// Points `current` at `releases/<release>` in one step: a temp symlink renamed over it.
    private func switchCurrent(_ transport: any DeployTransport, to release: Int64) async throws {
        let temp = "\(target.path)/.gobay-current-\(UUID().uuidString.prefix(8).lowercased())"
        let result = try await transport.runAll(
            [["ln", "-sfn", "releases/\(release)", temp], ["mv", "-T", "-f", "--", temp, target.path + "/current"]],
            deadline: soon)
        guard result.succeeded else {
            _ = try? await transport.run(["rm", "-f", "--", temp], deadline: soon)
            throw failure("cannot switch current to release \(release): \(result.lastLine)")
        }
        log.write(name, "current -> releases/\(release)")
    }

    private func restart(_ transport: any DeployTransport) async throws {
        switch target.restart {
        case .supervisor(let program, let config):
            // supervisorctl waits for the program to stay up for its startsecs, then says
            // "api: started" and exits 0; a program that will not stay up is "ERROR (spawn error)".
            let restarted = try await transport.run(supervisorctl(config) + ["restart", program], deadline: minutes)
            guard restarted.succeeded, restarted.stdout.contains("\(program): started") else {
                throw failure(
                    "supervisor program \(program) is not RUNNING after the restart: \(restarted.lastLine)",
                    hint: "its log on the target says why it stopped")
            }
            log.write(name, "supervisor: \(program) RUNNING")
        case .systemd(let unit):
            let restarted = try await transport.run(["systemctl", "restart", "--", unit], deadline: minutes)
            let active = try await transport.run(["systemctl", "is-active", "--", unit], deadline: soon)
            guard restarted.succeeded, active.succeeded else {
                throw failure("systemd unit \(unit) is not active after the restart: \(active.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            log.write(name, "systemd: \(unit) active")
        case .command(let argv):
            let result = try await transport.run(argv, deadline: minutes)
            guard result.succeeded else { throw failure("restart command exited \(result.status): \(result.lastLine)") }
            log.write(name, "restart command exited 0")
        }
    }

    /// Retries the health check until it passes or its timeout ends.
    private func health(_ transport: any DeployTransport) async throws {
        guard let check = target.health else { return }
        let deadline = Date().addingTimeInterval(check.timeout)
        var attempts = 0
        var last = ""
        repeat {
            attempts += 1
            switch check {
            case .http(let url, _):
                last = await Self.get(url, timeout: max(1, min(5, deadline.timeIntervalSinceNow)))
                if last == "200" || last.hasPrefix("2") && last.count == 3 {
                    log.write(name, "health: \(url) answered \(last) (attempt \(attempts))")
                    return
                }
            case .command(let argv, _):
                let result = try await transport.run(argv, deadline: deadline)
                if result.succeeded {
                    log.write(name, "health: command exited 0 (attempt \(attempts))")
                    return
                }
                last = "exit \(result.status): \(result.lastLine)"
            }
            if attempts == 1 { log.write(name, "health: not yet (\(last)); retrying until \(Int(check.timeout))s") }
            try await Task.sleep(for: .milliseconds(250))
        } while Date() < deadline
        throw failure("health check failed after \(attempts) attempts in \(Int(check.timeout))s: \(last)")
    }

    /// Removes releases beyond `keep`, newest kept first; never one of `keeping`.
    private func prune(_ transport: any DeployTransport, keeping: [Int64]) async throws {
        let listed = try await transport.run(["ls", "-1", "--", releases], deadline: soon)
        guard listed.succeeded else { throw failure("cannot list \(releases): \(listed.lastLine)") }
        let ids = listed.stdout.split(separator: "\n").compactMap { Int64($0) }.sorted(by: >)
        let kept = Set(ids.prefix(plan.deploy.keep)).union(keeping)
        let doomed = ids.filter { !kept.contains($0) }
        guard !doomed.isEmpty else { return }
        let result = try await transport.run(["rm", "-rf", "--"] + doomed.map { "\(releases)/\($0)" }, deadline: minutes)
        guard result.succeeded else { throw failure("cannot remove old releases: \(result.lastLine)") }
        log.write(name, "pruned releases \(doomed.map(String.init).joined(separator: ", ")) (keep \(plan.deploy.keep))")
    }

    // MARK: - helpers

    private func supervisorctl(_ config: String?) -> [String] {
        ["supervisorctl"] + (config.map { ["-c", $0] } ?? [])
    }

    private var soon: Date { Date().addingTimeInterval(60) }
    private var minutes: Date { Date().addingTimeInterval(5 * 60) }

    private func failure(_ message: String, hint: String? = nil) -> GobayError {
        GobayError("target \(name): \(message)", hint: hint, kind: .upstream)
    }

    /// Runs `body` as a logged step with its time.
    private func step<T>(_ step: String, _ body: () async throws -> T) async throws -> T {
        let start = Date()
        do {
            let value = try await body()
            log.write(name, "\(step): done in \(Int(Date().timeIntervalSince(start) * 1000)) ms")
            return value
        } catch {
            log.write(name, "\(step): failed after \(Int(Date().timeIntervalSince(start) * 1000)) ms: \(userMessage(error))")
            throw error
        }
    }

    /// The status code of a GET of `url` as text, or why there is none.
    static func get(_ url: String, timeout: TimeInterval) async -> String {
        do {
            return try await HTTPClient.withHTTPClient { client in
                var request = HTTPClientRequest(url: url)
                request.method = .GET
                let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
                _ = try await response.body.collect(upTo: 1 << 16)
                return String(response.status.code)
            }
        } catch {
            return "\(error)"
        }
    }
}

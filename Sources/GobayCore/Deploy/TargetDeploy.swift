import AsyncHTTPClient
import Foundation
import NIOCore

/// The steps of one target, each logged with its time:
/// 1. prepare: `<path>/releases` exists and is writable, leftovers of a killed upload go, the
///    supervisor program or the systemd unit exists, and the release `current` points at is read;
/// 2. upload to a temp name (skipped when the release is there already with the same sha256);
/// 3. verify the sha256 on the target against the one recorded at build time (in the upload's
///    round trip);
/// 4. place: rename into `releases/<build>/<binary>`;
/// 5. switch `current` in one step: a temp symlink, then `mv -T`;
/// 6. restart, and for supervisor wait for RUNNING past its startsecs (`supervisorctl restart`
///    waits for it, and says "started"); for systemd, the unit must not have stopped;
/// 7. health, retried until its timeout (for systemd, until the unit's program stops);
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
    var name: String { target.name }

    /// Runs the steps through `transport`; returns the target's status and, unless it
    /// succeeded, why. Round trips are few: prepare is one, upload and verify one, place and
    /// switch one.
    /// `opened`: what `openingParts` printed, when they ran as the connection opened.
    func run(_ transport: any DeployTransport, opened: [RemoteResult]? = nil) async throws -> (DeployStatus, String?) {
        let found = try await step("prepare") { try await prepare(transport, opened: opened) }
        let previous = found.previous
        try database.startDeploymentTarget(deployment, target: name, previous: previous)
        let release = plan.build.id
        let staged: String?
        if found.existingSum == plan.artifact.sha256 {
            log.write(name, "release \(release) is there already with sha256 \(plan.artifact.sha256)")
            staged = nil
        } else {
            staged = try await uploadAndVerify(transport, release: release, found: found)
        }
        try await placeAndSwitch(transport, staged, release: release)
        let restart = Restart(step: self, transport: transport, supervisor: found.supervisor)
        do {
            try await step("restart") { try await restart.run() }
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
                    try await restart.run()
                    try await health(transport)
                }
            } catch {
                return (.failed, "\(reason); the rollback to release \(previous) failed too: \(userMessage(error))")
            }
            return (.rolledBack, reason)
        }
        do {
            try await step("prune") {
                try await prune(transport, listed: found.releases + [release], keeping: [release, previous].compactMap { $0 })
            }
        } catch {
            log.write(name, "warning: \(userMessage(error))")
        }
        return (.succeeded, nil)
    }

    // MARK: - steps

    /// What prepare found on the target.
    struct Found {
        /// The release `current` points at.
        var previous: Int64?
        /// The sha256 of this build's binary when its release is there already.
        var existingSum: String?
        /// The releases there.
        var releases: [Int64]
        /// supervisord's XML-RPC, when the target's supervisor is reached that way.
        var supervisor: SupervisorRPC?
        /// The command that prints a file's sha256 first on its line: `openssl dgst` (several
        /// times faster where OpenSSL uses the CPU's SHA instructions) when the target has it,
        /// else coreutils' `sha256sum`.
        var hasher: [String] = TargetDeploy.sha256sum
        /// Whether the target has perl, to widen the upload's pipe (`SSHTransport.upload`).
        var hasPerl = false
    }

    static let sha256sum = ["sha256sum", "--"]
    /// The file's path follows; it is absolute, so it is never read as an option.
    static let opensslSHA256 = ["openssl", "dgst", "-sha256", "-r"]

    /// Checks what can be checked before anything changes, in one round trip: `releases` is
    /// writable and an upload killed halfway is gone (`current` never pointed at it), where
    /// `current` points, whether this release is there, and supervisor knows the program.
    private func prepare(_ transport: any DeployTransport, opened: [RemoteResult]?) async throws -> Found {
        let configs = supervisorConfigs
        let results: [RemoteResult]
        if let opened {
            results = opened
        } else {
            results = try await transport.runParts(openingParts, stopAtFailure: false, timed: false, deadline: soon)
        }
        func part(_ index: Int) -> RemoteResult {
            index < results.count ? results[index] : RemoteResult(status: 255, stdout: "the connection ended", stderr: "")
        }
        guard part(0).succeeded else {
            let why = part(0).lastLine
            throw failure(
                "cannot create or write \(releases)" + (why.isEmpty ? "" : ": \(why)"),
                hint: "make \(target.path) writable by the deploy user")
        }
        var found = Found(previous: nil, existingSum: nil, releases: [], supervisor: nil)
        if part(4).succeeded { found.hasher = Self.opensslSHA256 }
        found.hasPerl = part(5).succeeded
        let link = part(1).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        if part(1).succeeded, let last = link.split(separator: "/").last, let id = Int64(last) {
            log.write(name, "current release: \(id)")
            found.previous = id
        }
        if part(2).succeeded { found.existingSum = Self.sha256(in: part(2).stdout) }
        if part(3).succeeded { found.releases = part(3).stdout.split(separator: "\n").compactMap { Int64($0) } }
        if case .supervisor(let program, _) = target.restart {
            let config = configs.indices.first { part(6 + $0).succeeded }.map { (configs[$0], part(6 + $0).stdout) }
            found.supervisor = try await supervisorPreflight(transport, program: program, config: config)
        }
        if let unit = systemdUnit { try systemdPreflight(unit, part(6 + configs.count)) }
        return found
    }

    /// The parts of prepare's round trip, which over SSH runs as the connection opens: make sure
    /// `releases` is there and writable and remove leftovers of a killed upload; where `current`
    /// points; the sha256 of this release's binary if it is there; the releases; whether the
    /// target has openssl (a shell builtin there; locally, no such program: sha256sum then), and
    /// perl; the supervisord configs `supervisorctl` would read, or whether systemd has the unit.
    var openingParts: [[[String]]] {
        let binary = "\(releases)/\(plan.build.id)/\(binaryName)"
        return [
            [
                ["mkdir", "-p", "--", releases], ["test", "-w", releases],
                ["find", releases, "-maxdepth", "1", "-name", ".gobay-upload-*", "-delete"],
            ],
            [["readlink", "--", target.path + "/current"]],
            [["sha256sum", "--", binary]],
            [["ls", "-1", "--", releases]],
            [["command", "-v", "openssl"]],
            [["command", "-v", "perl"]],
        ] + supervisorConfigs.map { [["cat", "--", $0]] } + (systemdUnit.map { [systemdPreflightPart($0)] } ?? [])
    }

    /// The supervisord configs `supervisorctl` would read, in its order (`-c`, else its search
    /// list; the relative ones are from the login's directory, as for `supervisorctl`).
    private var supervisorConfig: String? {
        if case .supervisor(_, let config) = target.restart { return config }
        return nil
    }

    private var supervisorConfigs: [String] {
        guard case .supervisor(_, let config) = target.restart else { return [] }
        if let config { return [config] }
        return [
            "/usr/etc/supervisord.conf", "/usr/supervisord.conf", "supervisord.conf", "etc/supervisord.conf",
            "/etc/supervisord.conf", "/etc/supervisor/supervisord.conf",
        ]
    }

    /// Checks that supervisor has the program: through its XML-RPC when the config says where
    /// it listens and the connection can reach it (returned for the restart), else with
    /// `supervisorctl status`.
    private func supervisorPreflight(
        _ transport: any DeployTransport, program: String, config: (path: String, text: String)?
    ) async throws -> SupervisorRPC? {
        var why = "no supervisord config found"
        if let config {
            why = "\(config.path) does not say where supervisord listens in a way gobay reads"
            if let address = SupervisorServer.locate(config: config.text, path: config.path) {
                why = "the connection cannot forward to \(address)"
                if let socket = await transport.reach(address, deadline: soon) {
                    let rpc = SupervisorRPC(socket: socket)
                    let answer: Result<String?, SupervisorRPC.Unreachable>
                    do throws(SupervisorRPC.Unreachable) {
                        answer = .success(try await rpc.state(of: program, timeout: 60))
                    } catch {
                        answer = .failure(error)
                    }
                    switch answer {
                    case .success(.some): return rpc
                    case .success(.none): throw missingProgram(program)
                    case .failure(let unreachable): why = unreachable.reason
                    }
                }
            }
        }
        log.write(name, "supervisor: using supervisorctl (\(why))")
        let status = try await transport.run(supervisorctl(supervisorConfig) + ["status", program], deadline: soon)
        let text = status.stdout + status.stderr
        if text.contains("no such process") { throw missingProgram(program) }
        if status.status == 127 || text.contains("refused connection") || text.contains("no such file") {
            throw failure("supervisorctl cannot reach supervisord: \(status.lastLine)", hint: "check that supervisord runs")
        }
        return nil
    }

    private func missingProgram(_ program: String) -> GobayError {
        failure(
            "supervisor has no program \"\(program)\"",
            hint: "add [program:\(program)] running \(target.path)/current/\(binaryName) to its config")
    }

    /// Uploads the binary to a temp name and checks its sha256 there against the one recorded at
    /// build time, in one round trip; each logged as its own step with its time. Returns the
    /// temp name. A mismatch removes the upload and changes nothing else.
    private func uploadAndVerify(_ transport: any DeployTransport, release: Int64, found: Found) async throws -> String {
        let hasher = found.hasher
        let staged = "\(releases)/.gobay-upload-\(release)-\(UUID().uuidString.prefix(8).lowercased())"
        let start = Date()
        var results: [RemoteResult]
        do {
            results = try await transport.upload(
                plan.artifact.path, to: staged, widenPipe: found.hasPerl, then: [[hasher + [staged]]],
                deadline: Date().addingTimeInterval(30 * 60))
        } catch {
            log.write(name, "upload: failed after \(Int(Date().timeIntervalSince(start) * 1000)) ms: \(userMessage(error))")
            throw error
        }
        var sum = results.first ?? RemoteResult(status: 255, stdout: "the connection ended", stderr: "")
        let verifyTime = sum.milliseconds ?? 0
        log.write(name, "uploaded \(plan.artifact.size) bytes to \(staged)")
        log.write(name, "upload: done in \(max(0, Int(Date().timeIntervalSince(start) * 1000) - verifyTime)) ms")
        if !sum.succeeded, hasher != Self.sha256sum {
            // An openssl that cannot hash (a FIPS build without SHA-256, say): coreutils then.
            log.write(name, "openssl dgst failed (\(sum.lastLine)); sha256sum instead")
            sum = try await transport.run(Self.sha256sum + [staged], deadline: soon)
        }
        let actual = Self.sha256(in: sum.stdout)
        guard sum.succeeded, let actual, actual == plan.artifact.sha256 else {
            _ = try? await transport.run(["rm", "-f", "--", staged], deadline: soon)
            let error = failure(
                "the upload's sha256 is \(actual ?? sum.lastLine), not \(plan.artifact.sha256); nothing was switched")
            log.write(name, "verify: failed after \(verifyTime) ms: \(userMessage(error))")
            throw error
        }
        log.write(name, "sha256 \(actual) matches build #\(plan.build.id)")
        log.write(name, "verify: done in \(verifyTime) ms")
        return staged
    }

    /// The sha256 that `sha256sum` or `openssl dgst -r` printed: the first word of the last line
    /// that starts with 64 hex digits (stderr may be merged in before it).
    static func sha256(in output: String) -> String? {
        for line in output.split(separator: "\n").reversed() {
            let word = line.prefix { $0 != " " }
            if word.count == 64, word.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) { return String(word) }
        }
        return nil
    }

    /// Renames the upload into `releases/<release>/<binary>` (when there is one) and switches
    /// `current` to it, in one round trip; each logged as its own step with its time on the
    /// target. The switch runs only once the binary is in place.
    private func placeAndSwitch(_ transport: any DeployTransport, _ staged: String?, release: Int64) async throws {
        let dir = "\(releases)/\(release)"
        var parts: [[[String]]] = []
        if let staged {
            parts.append([["chmod", "0755", "--", staged], ["mkdir", "-p", "--", dir], ["mv", "-f", "--", staged, "\(dir)/\(binaryName)"]])
        }
        let temp = temporaryLink()
        parts.append(switchCommands(temp, to: release))
        let results = try await transport.runParts(parts, stopAtFailure: true, timed: true, deadline: soon)
        var index = 0
        if staged != nil {
            let placed = results.first ?? RemoteResult(status: 255, stdout: "the connection ended", stderr: "")
            guard placed.succeeded else {
                let error = failure("cannot place the binary in \(dir): \(placed.lastLine)")
                log.write(name, "place: failed after \(placed.milliseconds ?? 0) ms: \(userMessage(error))")
                throw error
            }
            log.write(name, "place: done in \(placed.milliseconds ?? 0) ms")
            index = 1
        }
        let switched = index < results.count ? results[index] : RemoteResult(status: 255, stdout: "the connection ended", stderr: "")
        guard switched.succeeded else {
            _ = try? await transport.run(["rm", "-f", "--", temp], deadline: soon)
            let error = failure("cannot switch current to release \(release): \(switched.lastLine)")
            log.write(name, "switch: failed after \(switched.milliseconds ?? 0) ms: \(userMessage(error))")
            throw error
        }
        log.write(name, "current -> releases/\(release)")
        log.write(name, "switch: done in \(switched.milliseconds ?? 0) ms")
    }

    private func temporaryLink() -> String { "\(target.path)/.gobay-current-\(UUID().uuidString.prefix(8).lowercased())" }

    /// A temp symlink renamed over `current`: the switch is one rename.
    private func switchCommands(_ temp: String, to release: Int64) -> [[String]] {
        [["ln", "-sfn", "releases/\(release)", temp], ["mv", "-T", "-f", "--", temp, target.path + "/current"]]
    }

    /// Points `current` at `releases/<release>` in one step (the rollback's switch).
    private func switchCurrent(_ transport: any DeployTransport, to release: Int64) async throws {
        let temp = temporaryLink()
        let result = try await transport.runAll(switchCommands(temp, to: release), deadline: soon)
        guard result.succeeded else {
            _ = try? await transport.run(["rm", "-f", "--", temp], deadline: soon)
            throw failure("cannot switch current to release \(release): \(result.lastLine)")
        }
        log.write(name, "current -> releases/\(release)")
    }

    /// The restart, the same for the deploy and its rollback.
    struct Restart: Sendable {
        let step: TargetDeploy
        let transport: any DeployTransport
        /// supervisord's XML-RPC, when prepare reached it that way.
        let supervisor: SupervisorRPC?

        func run() async throws {
            let name = step.name
            switch step.target.restart {
            case .supervisor(let program, let config):
                if let supervisor {
                    // startProcess with wait returns once the program has been RUNNING for its
                    // startsecs; a program that will not stay up is a SPAWN_ERROR or
                    // ABNORMAL_TERMINATION fault.
                    do {
                        try await supervisor.restart(program, timeout: 5 * 60)
                    } catch let fault as SupervisorRPC.Fault {
                        throw step.failure(
                            "supervisor program \(program) is not RUNNING after the restart: \(fault.message)",
                            hint: "its log on the target says why it stopped")
                    } catch let unreachable as SupervisorRPC.Unreachable {
                        throw step.failure("cannot reach supervisord to restart \(program): \(unreachable.reason)")
                    }
                    step.log.write(name, "supervisor: \(program) RUNNING")
                    return
                }
                // supervisorctl waits for the program to stay up for its startsecs, then says
                // "api: started" and exits 0; a program that will not stay up is "ERROR (spawn error)".
                let restarted = try await transport.run(
                    step.supervisorctl(config) + ["restart", program], deadline: step.minutes)
                guard restarted.succeeded, restarted.stdout.contains("\(program): started") else {
                    throw step.failure(
                        "supervisor program \(program) is not RUNNING after the restart: \(restarted.lastLine)",
                        hint: "its log on the target says why it stopped")
                }
                step.log.write(name, "supervisor: \(program) RUNNING")
            case .systemd(let unit):
                try await step.restartSystemd(unit, transport)
            case .command(let argv):
                let result = try await transport.run(argv, deadline: step.minutes)
                guard result.succeeded else { throw step.failure("restart command exited \(result.status): \(result.lastLine)") }
                step.log.write(name, "restart command exited 0")
            }
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
            try await checkSystemdUnitStaysUp(transport)
            try await Task.sleep(for: .milliseconds(250))
        } while Date() < deadline
        throw failure("health check failed after \(attempts) attempts in \(Int(check.timeout))s: \(last)")
    }

    /// Removes releases beyond `keep`, newest kept first; never one of `keeping`. `listed` is
    /// what prepare found there, and this release.
    private func prune(_ transport: any DeployTransport, listed: [Int64], keeping: [Int64]) async throws {
        let ids = Set(listed).sorted(by: >)
        let kept = Set(ids.prefix(plan.deploy.keep)).union(keeping)
        let doomed = ids.filter { !kept.contains($0) }
        guard !doomed.isEmpty else { return }
        let result = try await transport.run(["rm", "-rf", "--"] + doomed.map { "\(releases)/\($0)" }, deadline: minutes)
        guard result.succeeded else { throw failure("cannot remove old releases: \(result.lastLine)") }
        log.write(name, "pruned releases \(doomed.map(String.init).joined(separator: ", ")) (keep \(plan.deploy.keep))")
    }

    // MARK: - helpers

    func supervisorctl(_ config: String?) -> [String] {
        ["supervisorctl"] + (config.map { ["-c", $0] } ?? [])
    }

    var soon: Date { Date().addingTimeInterval(60) }
    var minutes: Date { Date().addingTimeInterval(5 * 60) }

    func failure(_ message: String, hint: String? = nil) -> GobayError {
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

    /// The HTTP client's settings for health checks: a refused connection is an answer at once
    /// (the health check retries on its own schedule), not retried by the client until the
    /// attempt's timeout.
    static var healthClientConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    /// The status code of a GET of `url` as text, or why there is none (see
    /// `healthClientConfiguration`).
    static func get(_ url: String, timeout: TimeInterval) async -> String {
        do {
            return try await HTTPClient.withHTTPClient(configuration: healthClientConfiguration) { client in
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

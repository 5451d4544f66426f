import Foundation
import GobayCore
import GobayTesting
import Testing

/// Whole binary against real targets: sshd + supervisord per target (or the same supervisord
/// as `host: local`), a real Go HTTP service that gobay builds, deployed, switched, restarted,
/// health-checked and rolled back.
@Suite("deploy: upload, switch, restart, health, rollback", .serialized)
struct DeployTests {
    @Test(arguments: [false, true])
    func deployThenRollBackOnBadHealthAndOnACrash(local: Bool) throws {
        let dw = try DeployWorld(label: local ? "deploy-local" : "deploy-ssh", local: local)
        defer { dw.stop() }
        let v1 = try dw.release("v1")
        let first = try dw.deploy(["api"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.record?.status == .succeeded && first.record?.build == v1.id)
        #expect(dw.versions() == ["v1", "v1"])
        let v2 = try dw.release("v2")
        let logins = dw.targets.map { $0.sshd.stderr.components(separatedBy: "Accepted publickey").count }
        let second = try dw.deploy([String(v2.id)])
        #expect(second.status == 0, "\(second.stderr)")
        if !local {
            // One connection per target for the whole deployment: every command went through it.
            let after = dw.targets.map { $0.sshd.stderr.components(separatedBy: "Accepted publickey").count }
            #expect(zip(logins, after).allSatisfy { $1 - $0 == 1 }, "\(logins) -> \(after)")
        }
        #expect(dw.versions() == ["v2", "v2"])
        for target in dw.targets {
            #expect(target.currentTarget() == "releases/\(v2.id)", "\(target.name)")
            #expect(try target.supervisorctl(["status", "api"]).contains("RUNNING"))
        }
        let record = try #require(second.record)
        #expect(record.targets.map(\.previousRelease) == [v1.id, v1.id])
        #expect(record.targets.allSatisfy { $0.newRelease == v2.id && $0.status == .succeeded })
        let log = try dw.gobay.run(["deploy-log", String(record.id)]).stdout
        for step in ["prepare", "upload", "verify", "place", "switch", "restart", "health"] {
            #expect(log.contains("[web-1] \(step): done in"), "\(step): \(log)")
        }
        #expect(log.contains("sha256 \(v2.artifacts[0].sha256) matches"))
        // supervisord is restarted through its XML-RPC (forwarded over the connection when
        // remote), not by running supervisorctl on the target.
        #expect(log.contains("[web-1] supervisor: api RUNNING") && !log.contains("using supervisorctl"), "\(log)")

        // v3 answers 500 on /health: web-1 goes back to v2 by itself; serial never touches web-2.
        let v3 = try dw.release("v3", health: 500)
        let bad = try dw.deploy(["api"])
        #expect(bad.status == 1)
        #expect(bad.record?.status == .rolledBack)
        #expect(bad.record?.targets.map(\.status) == [.rolledBack, .skipped])
        #expect(bad.record?.targets.first?.error?.contains("health check failed") == true, "\(String(describing: bad.record))")
        #expect(dw.versions() == ["v2", "v2"])
        #expect(dw.targets.map { $0.currentTarget() } == ["releases/\(v2.id)", "releases/\(v2.id)"])
        #expect(!FileManager.default.fileExists(atPath: dw.targets[1].deployPath + "/releases/\(v3.id)"), "web-2 was touched")

        // v4 exits at start: supervisor gives up on it, and gobay rolls back.
        try dw.release("v4", crash: true)
        let crash = try dw.deploy(["api", "--target", "web-2"])
        #expect(crash.status == 1)
        #expect(crash.record?.status == .rolledBack && crash.record?.targets.map(\.target) == ["web-2"])
        #expect(crash.record?.targets.first?.error?.contains("supervisor program api is not RUNNING") == true, "\(String(describing: crash.record))")
        #expect(dw.versions() == ["v2", "v2"])

        // The history, newest first.
        let list = try JSONDecoder().decode(
            [DeploymentRecord].self, from: Data(try dw.gobay.run(["deployments", "--project", "api", "--json"]).stdout.utf8))
        #expect(list.map(\.status) == [.rolledBack, .rolledBack, .succeeded, .succeeded])

        // Nothing of the four deployments is left running on a target: the remote side of each
        // connection ends with it (gobay once left a `sleep` behind on every target per deploy).
        for target in dw.targets {
            let left = target.livingProcesses.compactMap(Self.processName)
                .filter { !["sshd", "supervisord", v1.artifacts[0].name].contains($0) }
            #expect(left.isEmpty, "\(target.name) still runs \(left)")
        }
    }

    /// The command name of a living process (its /proc comm), nil once it is gone.
    static func processName(_ pid: pid_t) -> String? {
        (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// keep: 2 after five deploys leaves two releases, one of them current.
    @Test func keepPrunesOldReleasesButNeverCurrentOrPrevious() throws {
        let dw = try DeployWorld(label: "deploy-keep", count: 1, deploySettings: "      keep: 2\n")
        defer { dw.stop() }
        var builds: [BuildRecord] = []
        for n in 1...5 {
            builds.append(try dw.release("v\(n)"))
            #expect(try dw.deploy(["api"]).status == 0)
        }
        let releases = try FileManager.default.contentsOfDirectory(atPath: dw.targets[0].deployPath + "/releases")
            .filter { !$0.hasPrefix(".") }
        #expect(Set(releases) == Set(builds.suffix(2).map { String($0.id) }), "\(releases)")
        #expect(dw.targets[0].currentTarget() == "releases/\(builds[4].id)")
        #expect(dw.versions() == ["v5"])
        // Rolling back goes to the previous release, still there.
        let back = try dw.gobay.run(["rollback", "api", "--target", "web-1", "--json"])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(dw.versions() == ["v4"])
        #expect(dw.targets[0].currentTarget() == "releases/\(builds[3].id)")
    }

    /// An artifact changed on disk after its build is refused on its sha256; nothing is touched.
    @Test func aChangedArtifactIsRefused() throws {
        let dw = try DeployWorld(label: "deploy-sha", count: 1)
        defer { dw.stop() }
        let v1 = try dw.release("v1")
        let path = try #require(v1.artifacts.first?.path)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("tampered".utf8))
        try handle.close()
        let refused = try dw.deploy(["api"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("refusing to deploy it"), "\(refused.stderr)")
        #expect(dw.targets[0].currentTarget() == nil)
        #expect(!FileManager.default.fileExists(atPath: dw.targets[0].deployPath + "/releases/\(v1.id)"))
    }

    /// Each failure to reach or use a target names the target, exits 1 and leaves it as it was.
    @Test func unreachableOrMisconfiguredTargetsAreLeftUntouched() throws {
        let dw = try DeployWorld(label: "deploy-errors", count: 1)
        defer { dw.stop() }
        let target = dw.targets[0]
        let v1 = try dw.release("v1")
        #expect(try dw.deploy(["api"]).status == 0)
        try dw.release("v2")
        let original = try String(contentsOfFile: dw.configPath, encoding: .utf8)
        func attempt(_ old: String, _ new: String, expect message: String, prepare: () throws -> Void = {}) throws {
            try original.replacingOccurrences(of: old, with: new).write(toFile: dw.configPath, atomically: true, encoding: .utf8)
            try prepare()
            let result = try dw.deploy(["api"])
            #expect(result.status == 1, "\(message): \(result.stderr)")
            let error = result.record?.targets.first?.error ?? result.stderr
            #expect(error.contains("target web-1") && error.contains(message), "\(message): \(error)")
            #expect(target.currentTarget() == "releases/\(v1.id)", "\(message)")
            #expect(dw.versions() == ["v1"], "\(message)")
            try original.write(toFile: dw.configPath, atomically: true, encoding: .utf8)
        }
        try attempt("known_hosts: \(target.knownHosts)", "known_hosts: \(target.wrongKnownHosts)", expect: "host key")
        try attempt("known_hosts: \(target.knownHosts)", "known_hosts: \(target.emptyKnownHosts)", expect: "host key")
        try attempt("identity_file: \(target.identityFile)", "identity_file: \(target.wrongIdentityFile)", expect: "refused the key")
        let closed = try DeployTarget.freeLoopbackPort()
        try attempt("port: \(target.sshPort)", "port: \(closed)", expect: "cannot connect")
        try attempt("restart: { supervisor: api,", "restart: { supervisor: nope,", expect: "supervisor has no program \"nope\"")
        try attempt(
            "path: \(target.deployPath)", "path: /proc/gobay-cannot-write", expect: "/proc/gobay-cannot-write/releases")
        // Nothing of those attempts is left on the target.
        let releases = try FileManager.default.contentsOfDirectory(atPath: target.deployPath + "/releases")
        #expect(releases == [String(v1.id)], "\(releases)")
    }

    /// kill -9 of gobay halfway through a 50 MB upload: the target still serves the old release
    /// from an unchanged `current`; the retry marks the dead deployment interrupted, stops what
    /// it left running, removes its temp file and succeeds.
    @Test func killedMidUploadLeavesTheTargetServingAndARetrySucceeds() throws {
        let dw = try DeployWorld(label: "deploy-kill", count: 1)
        defer { dw.stop() }
        let target = dw.targets[0]
        try dw.release("v1")
        #expect(try dw.deploy(["api"]).status == 0)
        let v2 = try dw.release("v2")
        #expect(try dw.deploy(["api"]).status == 0)
        var random = [UInt8](repeating: 0, count: 38 << 20)
        for i in stride(from: 0, to: random.count, by: 8) {
            var value = UInt64.random(in: .min ... .max)
            withUnsafeBytes(of: &value) { bytes in for j in 0..<8 where i + j < random.count { random[i + j] = bytes[j] } }
        }
        let big = try dw.release(
            "v3",
            extra: [
                "blob.txt": Data(random).base64EncodedString(),
                "blob.go": "package main\n\nimport _ \"embed\"\n\n//go:embed blob.txt\nvar blob string\n\nfunc init() {\n\tif len(blob) == 0 {\n\t\tpanic(\"no blob\")\n\t}\n}\n",
            ])
        #expect((big.artifacts.first?.size ?? 0) > 50_000_000)
        let victim = try ChildProcess(
            dw.gobay.spec(["deploy", "api"]), stdoutPath: dw.sandbox.path + "/victim.out", stderrPath: dw.sandbox.path + "/victim.err")
        let releases = target.deployPath + "/releases"
        let deadline = Date().addingTimeInterval(60)
        func uploads() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: releases)) ?? []).filter { $0.hasPrefix(".gobay-upload-") }
        }
        while Date() < deadline, uploads().isEmpty { usleep(5_000) }
        #expect(!uploads().isEmpty, "the upload never started: \(victim.stdout)")
        victim.signal(SIGKILL)
        _ = victim.wait()
        #expect(target.currentTarget() == "releases/\(v2.id)")
        #expect(dw.versions() == ["v2"])

        let retry = try dw.deploy(["api"])
        #expect(retry.status == 0, "\(retry.stderr)")
        #expect(dw.versions() == ["v3"])
        #expect(uploads().isEmpty, "\(uploads())")
        let history = try JSONDecoder().decode(
            [DeploymentRecord].self, from: Data(try dw.gobay.run(["deployments", "--json"]).stdout.utf8))
        #expect(history.map(\.status) == [.succeeded, .interrupted, .succeeded, .succeeded])
        // Nothing of the killed deployment is still running.
        let killed = try #require(history.first { $0.status == .interrupted })
        let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { pid in
            guard Int32(pid) != nil, let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            return String(decoding: environ, as: UTF8.self).split(separator: "\0").contains { $0.hasPrefix("GOBAY_DEPLOY=") && $0.hasSuffix(":\(killed.id)") }
        }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    /// `parallel`: a target whose check fails goes back, the other keeps the release, and the
    /// deployment is `partial`. `canary`: a failing first target stops it; the rest are skipped.
    @Test func parallelIsPartialAndCanaryStopsAtTheFirstTarget() throws {
        let parallel = try DeployWorld(
            label: "deploy-parallel", deploySettings: "      strategy: parallel\n", healthPaths: ["web-2": "/nope"])
        defer { parallel.stop() }
        let v1 = try parallel.release("v1")
        // web-2 never passes its check, and has no release to go back to: it fails, web-1 succeeds.
        let first = try parallel.deploy(["api", "--target", "web-1"])
        #expect(first.status == 0, "\(first.stderr)")
        try parallel.release("v2")
        let mixed = try parallel.deploy(["api"])
        #expect(mixed.status == 1)
        #expect(mixed.record?.status == .partial, "\(String(describing: mixed.record))")
        #expect(mixed.record?.targets.map(\.status) == [.succeeded, .failed])
        #expect(parallel.versions()[0] == "v2")
        _ = v1

        let canary = try DeployWorld(
            label: "deploy-canary", deploySettings: "      strategy: canary\n", healthPaths: ["web-1": "/nope"])
        defer { canary.stop() }
        try canary.release("v1")
        let stopped = try canary.deploy(["api"])
        #expect(stopped.status == 1)
        #expect(stopped.record?.targets.map(\.status) == [.failed, .skipped], "\(String(describing: stopped.record))")
        #expect(canary.targets[1].currentTarget() == nil, "web-2 was touched")
        let web2 = try canary.deploy(["api", "--target", "web-2"])
        #expect(web2.status == 0 && canary.versions()[1] == "v1", "\(web2.stderr)")
    }

    /// Two deployments to one target at once: the second waits for the first, both succeed, and
    /// their times on the target do not overlap; `deploy-log -f` prints a log to its end.
    @Test func oneDeploymentPerTargetAtATime() throws {
        let dw = try DeployWorld(label: "deploy-lock", count: 1)
        defer { dw.stop() }
        try dw.release("v1")
        let children = try (1...2).map { n in
            try ChildProcess(
                dw.gobay.spec(["deploy", "api"]), stdoutPath: dw.sandbox.path + "/d\(n).out",
                stderrPath: dw.sandbox.path + "/d\(n).err")
        }
        for child in children { #expect(child.wait() == 0, "\(child.stdout) \(child.stderr)") }
        #expect(children.contains { $0.stdout.contains("waiting for another deployment of api to web-1") })
        let records = try JSONDecoder().decode(
            [DeploymentRecord].self, from: Data(try dw.gobay.run(["deployments", "--json"]).stdout.utf8))
        #expect(records.count == 2 && records.allSatisfy { $0.status == .succeeded })
        let spans = records.compactMap { r in r.targets.first.flatMap { t in t.startedAt.flatMap { s in t.finishedAt.map { (s, $0) } } } }
            .sorted { $0.0 < $1.0 }
        #expect(spans.count == 2 && spans[0].1 <= spans[1].0, "\(spans)")
        let followed = try dw.gobay.run(["deploy-log", String(records[0].id), "-f"])
        #expect(followed.status == 0 && followed.stdout.contains("deployment #\(records[0].id) succeeded"), "\(followed.stdout)")
        #expect(try dw.gobay.run(["deploy-log", "999"]).status == 2)
    }

    /// `restart: { command: [...] }` and `health: { command: [...] }` run on the target (here
    /// `host: local`): a bad release's failing check command rolls it back.
    @Test func commandRestartAndCommandHealth() throws {
        let dw = try DeployWorld(label: "deploy-commands", count: 1, local: true, commands: true)
        defer { dw.stop() }
        let v1 = try dw.release("v1")
        #expect(try dw.deploy(["api"]).status == 0)
        #expect(dw.versions() == ["v1"])
        try dw.release("v2", health: 503)
        let bad = try dw.deploy(["api"])
        #expect(bad.status == 1 && bad.record?.status == .rolledBack, "\(bad.stderr)")
        #expect(bad.record?.targets.first?.error?.contains("health check failed") == true)
        #expect(dw.versions() == ["v1"] && dw.targets[0].currentTarget() == "releases/\(v1.id)")
    }

    /// A target whose sshd forwards no sockets: gobay says so and restarts with
    /// `supervisorctl`, which still rolls a release that will not start back.
    @Test func supervisorctlWhenTheTargetForwardsNoSockets() throws {
        let dw = try DeployWorld(label: "deploy-noforward", count: 1, sshdSettings: ["AllowStreamLocalForwarding no"])
        defer { dw.stop() }
        let v1 = try dw.release("v1")
        let first = try dw.deploy(["api"])
        #expect(first.status == 0 && dw.versions() == ["v1"], "\(first.stderr)")
        let log = try dw.gobay.run(["deploy-log", String(try #require(first.record).id)]).stdout
        #expect(log.contains("supervisor: using supervisorctl ("), "\(log)")
        #expect(log.contains("[web-1] supervisor: api RUNNING"))
        try dw.release("v2", crash: true)
        let bad = try dw.deploy(["api"])
        #expect(bad.status == 1 && bad.record?.status == .rolledBack, "\(bad.stderr)")
        #expect(bad.record?.targets.first?.error?.contains("is not RUNNING after the restart") == true)
        #expect(dw.versions() == ["v1"] && dw.targets[0].currentTarget() == "releases/\(v1.id)")
    }
}

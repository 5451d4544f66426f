import Foundation
import GobayCore
import GobayTesting
import Testing

/// Builds `GoSources.deployService()` with the Go at `goroot` into `output`, its variables set.
private func buildDeployService(
    goroot: String, output: String, version: String, health: String = "200", crash: String = "no", scratch: String
) throws {
    let source = scratch + "/src-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
    try GoSources.deployService().write(toFile: source + "/main.go", atomically: true, encoding: .utf8)
    let environment = [
        "PATH": goroot + "/bin:/usr/bin:/bin", "GOROOT": goroot, "GOCACHE": try TestToolchains.sharedGocache(goroot),
        "HOME": scratch, "GOPATH": scratch + "/gopath", "GO111MODULE": "off", "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
    ]
    let flags = "-X main.version=\(version) -X main.health=\(health) -X main.crash=\(crash)"
    let result = try ProcessRunner.capture(
        ProcessSpec(
            [goroot + "/bin/go", "build", "-o", output, "-ldflags", flags, "main.go"], environment: environment,
            workingDirectory: source),
        deadline: Date().addingTimeInterval(300))
    #expect(result.outcome.succeeded, "go build: \(result.stdout)\(result.stderr)")
}

/// Pids of living processes whose command line mentions `text`.
private func processes(mentioning text: String) -> [String] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> String? in
        guard Int32(entry) != nil, entry != String(getpid()),
            let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), !data.isEmpty
        else { return nil }
        let command = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        return command.contains(text) ? "\(entry): \(command)" : nil
    }
}

/// The fixture the deploy tests stand on: real sshd and supervisord per target.
@Suite("deploy target: a real sshd and supervisord per target", .serialized)
struct DeployTargetTests {
    @Test func twoTargetsLetInTheirOwnKeyOnlyAndCheckTheHostKey() throws {
        let sandbox = try TestSandbox("deploy-target")
        let web1 = try DeployTarget(name: "web-1", sandbox: sandbox)
        let web2 = try DeployTarget(name: "web-2", sandbox: sandbox)
        #expect(web1.sshPort != web2.sshPort && web1.httpPort != web2.httpPort)

        for target in [web1, web2] {
            let ok = try target.run(["echo", "it's", "$HOME"])
            #expect(ok.outcome.status == 0, "\(target.name): \(ok.stderr)")
            #expect(ok.stdout == "it's $HOME\n", "the words reach the remote shell quoted")
            #expect(try target.run(["false"]).outcome.status == 1)
        }
        // Another target's key, the wrong key, a changed host key, an unknown host: ssh exits 255.
        let foreign = try web2.run(["true"], identity: web1.identityFile)
        #expect(foreign.outcome.status == 255 && foreign.stderr.contains("Permission denied"), "\(foreign.stderr)")
        let wrongKey = try web1.run(["true"], identity: web1.wrongIdentityFile)
        #expect(wrongKey.outcome.status == 255 && wrongKey.stderr.contains("Permission denied"), "\(wrongKey.stderr)")
        let changed = try web1.run(["true"], knownHosts: web1.wrongKnownHosts)
        #expect(changed.outcome.status == 255, "\(changed.stderr)")
        #expect(changed.stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"), "\(changed.stderr)")
        #expect(changed.stderr.contains("Host key verification failed"))
        let unknown = try web1.run(["true"], knownHosts: web1.emptyKnownHosts)
        #expect(
            unknown.outcome.status == 255 && unknown.stderr.contains("Host key verification failed"),
            "\(unknown.stderr)")
        // The right key still gets in after the failures.
        #expect(try web1.run(["true"]).outcome.status == 0)

        // scp speaks SFTP: the sftp subsystem works.
        let local = try sandbox.write("upload.txt", "payload\n")
        let copied = try web2.copy(local, to: web2.deployPath + "/upload.txt")
        #expect(copied.outcome.succeeded, "\(copied.stderr)")
        #expect(try web2.run(["cat", web2.deployPath + "/upload.txt"]).stdout == "payload\n")

        let yaml = """
              - name: web-1
                host: 127.0.0.1
                port: \(web1.sshPort)
                user: root
                identity_file: \(web1.identityFile)
                known_hosts: \(web1.knownHosts)
                path: \(web1.deployPath)
                restart: { supervisor: app, config: \(web1.supervisorConfig) }
                health: { http: "\(web1.baseURL)/health", timeout: 20s }

            """
        #expect(web1.targetYAML(indent: 2) == yaml)

        web1.stop()
        web2.stop()
        #expect(processes(mentioning: sandbox.path) == [])
    }

    /// A service built with Go 1.19 and one built with Go 1.22 run under supervisord from
    /// `current`; a restart over ssh switches them; stop() leaves nothing running.
    @Test func builtServicesRunFromCurrentUnderSupervisorAndStopLeavesNothing() throws {
        let sandbox = try TestSandbox("deploy-service")
        let target = try DeployTarget(name: "web-1", sandbox: sandbox)
        let v1 = sandbox.path + "/build/v1/app"
        let v2 = sandbox.path + "/build/v2/app"
        let crashing = sandbox.path + "/build/crash/app"
        try buildDeployService(goroot: TestToolchains.go119, output: v1, version: "v1", scratch: sandbox.path)
        try buildDeployService(
            goroot: TestToolchains.go122, output: v2, version: "v2", health: "500", scratch: sandbox.path)
        try buildDeployService(
            goroot: TestToolchains.go122, output: crashing, version: "v3", crash: "yes", scratch: sandbox.path)
        let crashed = try ProcessRunner.capture(ProcessSpec([crashing], environment: ["PORT": "1"]))
        #expect(crashed.outcome.status == 1 && crashed.stderr.contains("crashing"))

        #expect(target.currentTarget() == nil)
        #expect(target.get("/version") == nil, "nothing runs before the first release")
        try target.installRelease("1", binary: v1)
        #expect(target.currentTarget() == target.releasePath("1"))
        let started = try target.supervisorctl(["start", target.program])
        #expect(started.contains("started"), "\(started)")
        #expect(target.get("/version").map { "\($0.status) \($0.body)" } == "200 v1")
        #expect(target.get("/health").map { "\($0.status) \($0.body)" } == "200 ok")

        // What gobay will do: switch current and restart the program over ssh.
        try target.installRelease("2", binary: v2)
        let restart = try target.run(["supervisorctl", "-c", target.supervisorConfig, "restart", target.program])
        #expect(restart.outcome.status == 0, "\(restart.stdout)\(restart.stderr)")
        #expect(target.get("/version").map { "\($0.status) \($0.body)" } == "200 v2")
        #expect(target.get("/health")?.status == 500)
        #expect(try target.supervisorctl(["status", target.program]).contains("RUNNING"))
        #expect(!target.livingProcesses.isEmpty)

        target.stop()
        target.stop()
        #expect(processes(mentioning: sandbox.path) == [])
        #expect(target.livingProcesses == [])
        #expect(target.get("/version") == nil)
    }
}

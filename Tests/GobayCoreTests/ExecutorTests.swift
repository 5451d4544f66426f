import Foundation
import GobayCore
import GobayTesting
import Testing

/// What `docker top` lists for a container, beyond its init and `sleep infinity`.
private func containerProcesses(_ name: String) throws -> [String] {
    let result = try ProcessRunner.capture(
        ProcessSpec(["docker", "top", name, "-o", "pid,args"], environment: ["PATH": "/usr/local/bin:/usr/bin:/bin"]))
    return result.stdout.split(separator: "\n").dropFirst().map(String.init).filter {
        !$0.contains("docker-init") && !$0.hasSuffix("sleep infinity")
    }
}

private func docker(_ args: [String]) throws -> String {
    let result = try ProcessRunner.capture(ProcessSpec(["docker"] + args, environment: ["PATH": "/usr/local/bin:/usr/bin:/bin"]))
    return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Removes the containers of `world`'s environments, and `extra` names; never another test run's
/// (suites of other checkouts may share this docker daemon).
private func removeContainers(of world: BuildWorld, extra: [String] = []) {
    _ = try? docker(["rm", "-f"] + ["legacy", "modern", "newest"].map(world.container) + extra)
}

/// One serialized suite: each test removes every gobay container when it ends.
@Suite("executors: sandbox and docker", .serialized)
struct ExecutorTests {
    @Test(arguments: ["sandbox", "docker"])
    func matrixBuildsReportTheirGoAndArtifactsBelongToTheHostUser(kind: String) throws {
        let world = try BuildWorld(label: "exec-\(kind)", environmentSettings: BuildWorld.executorSettings(kind))
        defer { removeContainers(of: world) }
        for (project, version) in [
            ("legacy-svc", world.versions.legacy), ("modern-svc", world.versions.modern), ("newest-svc", world.versions.newest),
        ] {
            let result = try world.gobay.run(["build", project, "--json"])
            #expect(result.status == 0, "\(kind) \(project): \(result.stderr)")
            let record = try world.decodeBuild(result.stdout)
            let artifact = try #require(record.artifacts.first)
            #expect(try world.runBinary(artifact.path).hasPrefix("go" + version), "\(kind) \(project)")
            let attributes = try FileManager.default.attributesOfItem(atPath: artifact.path)
            #expect((attributes[.ownerAccountID] as? NSNumber)?.uint32Value == getuid())
            #expect((attributes[.groupOwnerAccountID] as? NSNumber)?.uint32Value == getgid())
        }
        // The environment's own view: toolchain at /usr/local/go, GOPATH under /go.
        let goenv = try world.gobay.run(["env", "exec", "modern", "--", "go", "env", "GOROOT", "GOPATH", "GOVERSION"])
        #expect(goenv.stdout == "/usr/local/go\n/go/gopath\ngo\(world.versions.modern)\n", "\(goenv.stderr)")
        if kind == "docker" {
            #expect(try containerProcesses(world.container("modern")) == [])
            #expect(try docker(["inspect", "--format", "{{index .Config.Labels \"gobay.env\"}}", world.container("modern")]) == "modern")
        }
    }

    /// Library checkouts live inside each environment, so a sandbox or a container sees them:
    /// GOPATH builds find the library, a module build's `replace` names the checkout's path as the
    /// executor sees it, and after an update each build prints the new commit's text. A library
    /// tree is gobay's, not the step user's: a build cannot write into it.
    @Test(arguments: ["sandbox", "docker"])
    func librariesReachIsolatedEnvironments(kind: String) throws {
        let lw = try LibraryWorld(label: "exec-lib-\(kind)", environmentSettings: BuildWorld.executorSettings(kind))
        defer { removeContainers(of: lw.world) }
        for text in ["hello from corelib v1", "hello from corelib isolated v2"] {
            if text.hasSuffix("v2") {
                try lw.pushLibrary(text)
                let update = try lw.world.gobay.run(["lib", "update", "corelib"])
                #expect(update.status == 0, "\(kind): \(update.stderr)")
            }
            for project in ["legacy-svc", "mod-svc"] {
                let result = try lw.world.gobay.run(["build", project, "--json"])
                #expect(result.status == 0, "\(kind) \(project): \(result.stderr)")
                let record = try lw.world.decodeBuild(result.stdout)
                #expect(try lw.output(of: record).contains(text), "\(kind) \(project)")
                #expect(record.libraries?["corelib"] == (try lw.world.corelib.head()))
            }
        }
        let tree = lw.world.dataDir + "/envs/modern/gopath/src/ex.com/team/corelib/greet/greet.go"
        let attributes = try FileManager.default.attributesOfItem(atPath: tree)
        #expect((attributes[.ownerAccountID] as? NSNumber)?.uint32Value == getuid())
        #expect(((attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o777) & 0o022 == 0)
    }

    /// A repository whose `go test` attacks the host (see HostileProject): every attack fails,
    /// its daemon dies with the step, the secrets it prints are masked, and the next builds of
    /// other projects, in its environment and in another, print their own output.
    @Test(arguments: ["host", "sandbox", "docker"])
    func hostileBuildIsContained(kind: String) throws {
        let token = "dtok-\(UUID().uuidString)"
        let executor = BuildWorld.executorSettings(kind)
        let world = try BuildWorld(
            label: "hostile-\(kind)",
            extraProjects: "  hostile-svc:\n    repo: repos/hostile-svc\n    branch: main\n    test: true\n",
            environmentSettings: (executor.isEmpty ? "" : executor + "\n") + "    env: { DEPLOY_TOKEN: \"\(token)\" }")
        defer { removeContainers(of: world) }
        // The operator keeps gobay.yml readable by gobay alone (see the README's security model).
        chmod(world.configPath, 0o600)
        let first = try world.gobay.run(["build", "legacy-svc", "--json"])
        #expect(first.status == 0, "\(first.stderr)")
        let firstRecord = try world.decodeBuild(first.stdout)
        let seconds = 800_000 + Int.random(in: 0..<100_000)
        let hostile = HostileProject(
            database: world.dataDir + "/gobay.sqlite", config: world.configPath,
            otherEnvironment: world.dataDir + "/envs/legacy",
            otherArtifacts: world.dataDir + "/builds/\(firstRecord.id)/artifacts", probeVariable: "GOBAY_TEST_PROBE_SECRET",
            daemonSeconds: seconds)
        _ = try GitFixture(path: world.sandbox.path + "/repos/hostile-svc", branch: "main", files: hostile.files)
        var spec = world.gobay.spec(["build", "hostile-svc"])
        spec.environment["GOBAY_TEST_PROBE_SECRET"] = "probe-\(UUID().uuidString)"
        let (outcome, out, err) = try ProcessRunner.capture(spec, deadline: Date().addingTimeInterval(600))
        let log = out + err
        #expect(outcome.status == 1, "its test fails on purpose\n\(log)")
        // Docker's root in the container keeps docker's default capabilities; the rest holds everywhere.
        let expected = HostileProject.attacks.filter { !(kind == "docker" && $0 == "capabilities") }
        for attack in expected {
            #expect(log.contains("ATTACK \(attack): blocked"), "\(kind): \(attack)\n\(log)")
        }
        let succeeded = log.split(separator: "\n").filter { $0.contains("SUCCEEDED") && !$0.contains("ATTACK capabilities") }
        #expect(succeeded.isEmpty, "\(kind): \(succeeded)")
        #expect(log.contains("deploy token is ***"), "\(log)")
        #expect(!log.contains(token))
        #expect(log.contains("daemon started: no error"), "\(log)")
        // The daemon left the group and the session and dropped every marker; it died with the step.
        let daemons = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter {
            FileManager.default.contents(atPath: "/proc/\($0)/cmdline") == Data("sleep\u{0}\(seconds)\u{0}".utf8)
        }
        #expect(daemons.isEmpty, "\(kind): daemon still running: \(daemons)")
        #expect(!FileManager.default.fileExists(atPath: world.dataDir + "/envs/legacy/gopath/src/poison.go"))
        for (project, version) in [("modern-svc", world.versions.modern), ("legacy-svc", world.versions.legacy)] {
            let result = try world.gobay.run(["build", project, "--json"])
            #expect(result.status == 0, "\(kind) \(project): \(result.stderr)")
            let artifact = try #require(try world.decodeBuild(result.stdout).artifacts.first)
            let printed = try world.runBinary(artifact.path)
            #expect(printed.hasPrefix("go" + version) && !printed.contains("POISONED"), "\(kind) \(project): \(printed)")
        }
    }

    /// `gobay env exec` in a sandbox gets the same unprivileged sandbox as a step: no
    /// capabilities, the seccomp filter, only stdio, and the step user.
    @Test func envExecInTheSandboxHasNoPrivilege() throws {
        let world = try BuildWorld(label: "exec-sandbox", environmentSettings: BuildWorld.executorSettings("sandbox"))
        let status = try world.gobay.run(["env", "exec", "modern", "--", "cat", "/proc/self/status"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("CapEff:\t0000000000000000"), "\(status.stdout)")
        #expect(status.stdout.contains("NoNewPrivs:\t1"))
        #expect(status.stdout.contains("Seccomp:\t2"))
        let fds = try world.gobay.run(["env", "exec", "modern", "--", "ls", "/proc/self/fd"])
        #expect(fds.stdout.split(separator: "\n") == ["0", "1", "2", "3"], "\(fds.stdout)")
        if getuid() == 0 {
            let id = try world.gobay.run(["env", "exec", "modern", "--", "id", "-un"])
            #expect(id.stdout.trimmingCharacters(in: .whitespacesAndNewlines) != "root", "\(id.stdout)")
        }
    }

    @Test(arguments: ["host", "sandbox", "docker"])
    func shellRunsInsideTheEnvironment(kind: String) throws {
        let world = try BuildWorld(label: "shell-\(kind)", environmentSettings: BuildWorld.executorSettings(kind))
        defer { removeContainers(of: world) }
        let script = world.sandbox.path + "/script"
        try "go env GOVERSION GOPATH\nexit 7\n".write(toFile: script, atomically: true, encoding: .utf8)
        // stdin is a file, not a terminal: the shell reads its commands from it.
        var spec = world.gobay.spec(["env", "shell", "modern"])
        spec.environment["SHELL"] = "/bin/bash"
        let child = try ChildProcess(spec, stdoutPath: world.sandbox.path + "/out", stderrPath: world.sandbox.path + "/err", stdinPath: script)
        #expect(child.wait(timeout: 60) == 7, "\(child.stderr)")
        let gopath = kind == "host" ? world.dataDir + "/envs/modern/gopath" : "/go/gopath"
        #expect(child.stdout == "go\(world.versions.modern)\n\(gopath)\n")
    }

    @Test(arguments: ["sandbox", "docker"])
    func twoEnvironmentsBuildAtOnce(kind: String) throws {
        let world = try BuildWorld(label: "conc-\(kind)", environmentSettings: BuildWorld.executorSettings(kind))
        defer { removeContainers(of: world) }
        let a = try ChildProcess(world.gobay.spec(["build", "legacy-svc", "--json"]), stdoutPath: world.sandbox.path + "/a", stderrPath: world.sandbox.path + "/ae")
        let b = try ChildProcess(world.gobay.spec(["build", "modern-svc", "--json"]), stdoutPath: world.sandbox.path + "/b", stderrPath: world.sandbox.path + "/be")
        #expect(a.wait() == 0, "\(a.stderr)")
        #expect(b.wait() == 0, "\(b.stderr)")
        let ra = try world.decodeBuild(a.stdout)
        let rb = try world.decodeBuild(b.stdout)
        #expect(try world.runBinary(try #require(ra.artifacts.first).path).hasPrefix("go" + world.versions.legacy))
        #expect(try world.runBinary(try #require(rb.artifacts.first).path).hasPrefix("go" + world.versions.modern))
    }

    @Test(arguments: ["sandbox", "docker"])
    func cancelLeavesNoProcessBehind(kind: String) throws {
        let world = try BuildWorld(label: "cancel-\(kind)", environmentSettings: BuildWorld.executorSettings(kind))
        defer { removeContainers(of: world) }
        try world.modern.commit(
            ["hang_test.go": GoSources.sleepingTest(seconds: 300)],
            message: "hang")
        try world.editConfig("    branch: main\n", "    branch: main\n    test: true\n")
        let child = try ChildProcess(
            world.gobay.spec(["build", "modern-svc", "--json"]), stdoutPath: world.sandbox.path + "/out",
            stderrPath: world.sandbox.path + "/err")
        for _ in 0..<3000 where !child.stderr.contains("$ go test") { usleep(10_000) }
        usleep(2_000_000)
        if kind == "docker" { #expect(try !containerProcesses(world.container("modern")).isEmpty, "the test should be running in the container") }
        child.signal(SIGINT)
        #expect(child.wait(timeout: 60) == 1)
        #expect(try world.decodeBuild(child.stdout).status == .canceled)
        #expect(world.leftoverProcesses() == [])
        if kind == "docker" { #expect(try containerProcesses(world.container("modern")) == []) }
    }

    @Test func sandboxedBuildCannotWriteIntoAnotherEnvironment() throws {
        let world = try BuildWorld(label: "isolation", environmentSettings: BuildWorld.executorSettings("sandbox"))
        // Give the legacy environment a GOPATH to attack.
        #expect(try world.gobay.run(["build", "legacy-svc"]).status == 0)
        let victim = world.dataDir + "/envs/legacy/gopath/src"
        let before = try FileManager.default.subpathsOfDirectory(atPath: victim).sorted()
        try world.modern.commit(
            ["evil_test.go": """
                package main

                import (
                \t"os"
                \t"testing"
                )

                func TestEvil(t *testing.T) {
                \tfor _, p := range []string{"\(victim)/evil.go", "/go/../envs/legacy/gopath/src/evil.go", "/usr/local/go/evil", "/etc/evil"} {
                \t\tif err := os.WriteFile(p, []byte("package evil"), 0o644); err == nil {
                \t\t\tt.Errorf("wrote %s", p)
                \t\t}
                \t}
                }

                """], message: "evil")
        try world.editConfig("    branch: main\n", "    branch: main\n    test: true\n")
        let result = try world.gobay.run(["build", "modern-svc", "--json"])
        #expect(result.status == 0, "every write must fail, so the test passes: \(result.stderr)")
        #expect(try FileManager.default.subpathsOfDirectory(atPath: victim).sorted() == before)
        #expect(!FileManager.default.fileExists(atPath: "/etc/evil"))
        #expect(!FileManager.default.fileExists(atPath: TestToolchains.go122 + "/evil"))
    }

    @Test func containerIsRecreatedOnConfigChangeAndRestartedWhenKilled() throws {
        let world = try BuildWorld(label: "recreate", environmentSettings: BuildWorld.executorSettings("docker"))
        defer { removeContainers(of: world) }
        #expect(try world.gobay.run(["build", "modern-svc"]).status == 0)
        let first = try docker(["inspect", "--format", "{{.Id}}", world.container("modern")])
        // Killed by hand: the next build starts it again.
        _ = try docker(["kill", world.container("modern")])
        #expect(try docker(["inspect", "--format", "{{.State.Status}}", world.container("modern")]) == "exited")
        let afterKill = try world.gobay.run(["build", "modern-svc", "--json"])
        #expect(afterKill.status == 0, "\(afterKill.stderr)")
        #expect(try docker(["inspect", "--format", "{{.State.Status}}", world.container("modern")]) == "running")
        #expect(try docker(["inspect", "--format", "{{.Id}}", world.container("modern")]) == first)
        // A changed config: the container is made again.
        try world.editConfig("    toolchain: mount\n", "    toolchain: mount\n    network: none\n")
        let sync = try world.gobay.run(["env", "sync", "modern"])
        let name = world.container("modern")
        #expect(sync.stdout == "modern: container \(name) recreated\n", "\(sync.stderr)")
        #expect(try docker(["inspect", "--format", "{{.Id}}", world.container("modern")]) != first)
        #expect(try docker(["inspect", "--format", "{{.HostConfig.NetworkMode}}", world.container("modern")]) == "none")
        #expect(try world.gobay.run(["env", "sync", "modern"]).stdout == "modern: container \(name) running\n")
        #expect(try world.gobay.run(["build", "modern-svc"]).status == 0)
        let rm = try world.gobay.run(["env", "rm", "modern"])
        #expect(rm.stdout == "removed container \(name)\n")
        #expect(try docker(["ps", "-a", "--filter", "name=^\(name)$", "--format", "{{.Names}}"]) == "")
    }

    /// Container names carry the data dir; a container of this data dir under the old name
    /// (`gobay-<env>`) is retired once, and another data dir's under that name is left alone.
    @Test func containersAreNamedByDataDirAndTheOldNameIsRetired() throws {
        let world = try BuildWorld(label: "names", environmentSettings: BuildWorld.executorSettings("docker"))
        defer { removeContainers(of: world, extra: ["gobay-modern"]) }
        let other = try BuildWorld(label: "names-other", environmentSettings: BuildWorld.executorSettings("docker"))
        defer { removeContainers(of: other) }
        #expect(world.container("modern") != other.container("modern"))
        #expect(world.container("modern").hasPrefix("gobay-") && world.container("modern").hasSuffix("-modern"))
        // Both data dirs build in their own container at once.
        #expect(try world.gobay.run(["env", "sync", "modern"]).status == 0)
        #expect(try other.gobay.run(["env", "sync", "modern"]).status == 0)
        #expect(try docker(["inspect", "--format", "{{.State.Status}}", world.container("modern")]) == "running")
        #expect(try docker(["inspect", "--format", "{{.State.Status}}", other.container("modern")]) == "running")
        // An upgrade: this data dir's container still has the old name.
        _ = try docker(["rename", world.container("modern"), "gobay-modern"])
        let sync = try world.gobay.run(["env", "sync", "modern"])
        #expect(sync.stdout == "modern: container \(world.container("modern")) created\n", "\(sync.stderr)")
        #expect(try docker(["ps", "-a", "--filter", "name=^gobay-modern$", "--format", "{{.Names}}"]) == "")
        // Another data dir's container under the old name stays.
        _ = try docker(["rename", other.container("modern"), "gobay-modern"])
        #expect(try world.gobay.run(["build", "modern-svc"]).status == 0)
        #expect(try docker(["ps", "-a", "--filter", "name=^gobay-modern$", "--format", "{{.Names}}"]) == "gobay-modern")
    }

    @Test func unreachableDockerFailsClearlyAndOtherEnvironmentsWork() throws {
        let world = try BuildWorld(label: "nodocker")
        try world.editConfig(
            "  modern:\n    go: \"1.22\"\n",
            "  modern:\n    go: \"1.22\"\n    executor: docker\n    image: \(BuildWorld.dockerImage)\n    toolchain: mount\n")
        var spec = world.gobay.spec(["build", "modern-svc"])
        spec.environment["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
        let failed = try ProcessRunner.capture(spec)
        #expect(failed.outcome.status == 1)
        #expect(failed.stdout.contains("docker daemon not reachable at unix:///nonexistent/docker.sock"), "\(failed.stdout)")
        var other = world.gobay.spec(["build", "legacy-svc"])
        other.environment["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
        #expect(try ProcessRunner.capture(other).outcome.status == 0)
    }

    @Test func imageToolchainUsesTheImagesOwnGo() throws {
        let image = "gobay-test-go\(try TestToolchains.version(TestToolchains.go122))"
        if (try? docker(["image", "inspect", "--format", "{{.Id}}", image]))?.isEmpty ?? true {
            // A golang-style image made offline: the base image with a Go copied to /usr/local/go.
            let maker = "gobay-test-image-maker-\(UUID().uuidString.prefix(8))"
            _ = try docker([
                "run", "--name", maker, "-v", "\(TestToolchains.go122):/mnt/go:ro", BuildWorld.dockerImage, "cp", "-a", "/mnt/go",
                "/usr/local/go",
            ])
            _ = try docker(["commit", maker, image])
            _ = try docker(["rm", "-f", maker])
        }
        let world = try BuildWorld(label: "imagego")
        defer { removeContainers(of: world) }
        try world.editConfig(
            "  modern:\n    go: \"1.22\"\n    goroot: \(TestToolchains.go122)\n",
            "  modern:\n    go: \"1.22\"\n    executor: docker\n    image: \(image)\n    toolchain: image\n")
        let result = try world.gobay.run(["build", "modern-svc", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let record = try world.decodeBuild(result.stdout)
        #expect(record.goVersion == world.versions.modern)
        #expect(try world.runBinary(try #require(record.artifacts.first).path) == "go" + world.versions.modern)
        let mounts = try docker(["inspect", "--format", "{{range .Mounts}}{{.Destination}} {{end}}", world.container("modern")])
        #expect(!mounts.contains("/usr/local/go"), "the image's own Go is used, nothing is mounted over it: \(mounts)")
        let info = try world.gobay.run(["env", "info", "modern", "--json"])
        #expect(info.stdout.contains("\"goroot\" : \"/usr/local/go\""))
    }

    @Test func dockerStepsRunAsTheConfiguredUserAndTheHostKeepsControl() throws {
        let world = try BuildWorld(label: "user", environmentSettings: BuildWorld.executorSettings("docker") + "\n    user: \"4242:4243\"")
        defer { removeContainers(of: world) }
        // A build cache of its own: handing the shared one to 4242 would pull it from under the
        // other suites' builds.
        let shared = try TestToolchains.sharedGocache(TestToolchains.go122)
        try world.editConfig("gocache: \(shared)\n", "gocache: \(world.sandbox.path)/gocache-4242\n")
        let result = try world.gobay.run(["build", "modern-svc", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let record = try world.decodeBuild(result.stdout)
        let artifact = try #require(record.artifacts.first)
        // The work dir is the step user's; its tracked files are links to gobay's clean tree,
        // which that user reads but cannot write; the stored artifact is a copy gobay made.
        let work = world.dataDir + "/envs/modern/work/modern-svc"
        let checkout = try FileManager.default.attributesOfItem(atPath: work)
        #expect((checkout[.ownerAccountID] as? NSNumber)?.intValue == 4242)
        #expect((checkout[.groupOwnerAccountID] as? NSNumber)?.intValue == 4243)
        let tracked = try FileManager.default.attributesOfItem(atPath: work + "/main.go")
        #expect((tracked[.ownerAccountID] as? NSNumber)?.intValue == 0 && (tracked[.referenceCount] as? NSNumber)?.intValue ?? 0 >= 2)
        #expect(((tracked[.posixPermissions] as? NSNumber)?.intValue ?? 0o777) & 0o022 == 0, "no one else may write it")
        let attributes = try FileManager.default.attributesOfItem(atPath: artifact.path)
        #expect((attributes[.ownerAccountID] as? NSNumber)?.uint32Value == getuid())
        #expect(try world.runBinary(artifact.path) == "go" + world.versions.modern)
        #expect(try docker(["exec", world.container("modern"), "id", "-u"]) == "4242")
        // The host can still move and delete what the build wrote, and build again.
        let moved = world.sandbox.path + "/moved"
        try FileManager.default.moveItem(atPath: artifact.path, toPath: moved)
        try FileManager.default.removeItem(atPath: moved)
        try world.modern.commit(["VERSION": "2\n"], message: "again")
        #expect(try world.gobay.run(["build", "modern-svc"]).status == 0)
    }
}

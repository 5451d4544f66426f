import Foundation
@testable import GobayCore
import GobayTesting
import Testing

@Suite("gobay.yml parsing and validation")
struct ConfigTests {
    let path = "/srv/ci/gobay.yml"

    func parse(_ yaml: String) throws -> GobayConfig { try ConfigLoader.parse(yaml, path: path) }

    func error(_ yaml: String) -> GobayError? {
        do {
            _ = try parse(yaml)
            return nil
        } catch let e as GobayError {
            return e
        } catch {
            return nil
        }
    }

    @Test(arguments: ["0", "0s", "0m", "0.0", "00s"])
    func aQuietPeriodOfZeroIsAccepted(text: String) throws {
        #expect(try parse("server: { quiet_period: \(text) }\n").server.quietPeriod == 0)
    }

    /// Paths resolve beside the config by their text alone; `user@host:path` stays a git URL.
    @Test func pathsAndRepositoriesResolveByTheirText() throws {
        let cases: [(String, String)] = [
            ("/a/b/../c/./d//e/", "/a/c/d/e"), ("/../x", "/x"), ("/", "/"), ("a/../../b", "../b"), ("./", "."),
        ]
        for (given, expected) in cases {
            #expect(ConfigLoader.normalizedPath(given) == expected, "\(given)")
        }
        let config = try parse(
            """
            data_dir: ../data/./gobay//
            projects:
              a: { repo: ../git/a.git }
              b: { repo: git@gitlab.example.com:team/b.git }
              c: { repo: "/srv/git/c@v2:x" }
              d: { repo: "repos/user@host:odd" }
              e: { repo: "https://gitlab.example.com/team/e.git" }
            """)
        #expect(config.dataDir == "/srv/data/gobay")
        #expect(config.projects.map(\.repo) == [
            "/srv/git/a.git", "git@gitlab.example.com:team/b.git", "/srv/git/c@v2:x", "/srv/ci/repos/user@host:odd",
            "https://gitlab.example.com/team/e.git",
        ])
    }

    /// `gobay build P` reads only P of the projects (their names are still checked); a name
    /// that is not there reads them all, so the error can list them.
    @Test func onlyTheProjectACommandNeedsIsRead() throws {
        let yaml = "projects:\n  a: { repo: /srv/a }\n  b: { repo: /srv/b, mode: nonsense }\n  c: { repo: /srv/c }\n"
        #expect(try ConfigLoader.parse(yaml, path: path, onlyProject: "c").projects.map(\.name) == ["c"])
        #expect(throws: GobayError.self) { try ConfigLoader.parse(yaml, path: path) }
        #expect(throws: GobayError.self) { try ConfigLoader.parse(yaml, path: path, onlyProject: "nosuch") }
        #expect(throws: GobayError.self) {
            try ConfigLoader.parse(yaml + "  bad/name: { repo: /srv/d }\n", path: path, onlyProject: "c")
        }
    }

    @Test func fullExampleResolves() throws {
        let config = try parse(
            """
            data_dir: .gobay
            toolchains:
              mirror: https://golang.google.cn/dl
            environments:
              legacy:
                go: "1.19"
                goroot: /usr/lib/go-1.19
                executor: host
                concurrency: 3
                env: { GOFLAGS: "-mod=mod", GOPROXY: "https://goproxy.cn,direct" }
              modern:
                go: 1.20
            projects:
              legacy-svc:
                repo: file:///srv/git/legacy-svc.git
                branch: master
                environment: legacy
                mode: gopath
                import_path: gitlab.example.com/team/legacy-svc
                package: ./cmd/svc
                output: legacy-svc
                ldflags: "-s -w -X main.version={short_commit}"
                targets: [linux/amd64, linux/arm64]
                test: true
                timeout: 1h30m
              api:
                repo: git@gitlab.example.com:team/api.git
            """)
        #expect(config.dataDir == "/srv/ci/.gobay")
        #expect(config.toolchainMirror == "https://golang.google.cn/dl/")
        #expect(config.environments.map(\.name) == ["legacy", "modern"])
        let legacy = config.environments[0]
        #expect(legacy.go.description == "1.19")
        #expect(legacy.concurrency == 3)
        #expect(legacy.env.map(\.0) == ["GOFLAGS", "GOPROXY"])
        // An unquoted 1.20 must stay 1.20, not become the float 1.2.
        #expect(config.environments[1].go.description == "1.20")
        let p = config.projects[0]
        #expect(p.mode == .gopath && p.importPath == "gitlab.example.com/team/legacy-svc")
        #expect(p.targets == [BuildTarget(goos: "linux", goarch: "amd64"), BuildTarget(goos: "linux", goarch: "arm64")])
        #expect(p.timeout == 5400)
        #expect(p.test)
        let api = config.projects[1]
        #expect(api.repo == "git@gitlab.example.com:team/api.git")
        #expect(api.mode == .auto && api.environment == nil && api.output == "api" && api.timeout == 1800)
    }

    @Test func invalidYAMLNamesFileAndLine() throws {
        let e = try #require(error("environments:\n  legacy:\n    go: \"1.19\n  other: [\n"))
        #expect(e.message.hasPrefix("/srv/ci/gobay.yml: invalid YAML"))
        #expect(e.message.contains("line"))
        #expect(e.exitCode == 2)
    }

    @Test func unknownKeyNamesFileLineAndKey() throws {
        let e = try #require(error("environments:\n  legacy:\n    go: \"1.19\"\n    gopth: /x\n"))
        #expect(e.message == "/srv/ci/gobay.yml:4: environments.legacy.gopth: unknown key \"gopth\"")
        #expect(e.hint?.contains("goroot") == true)
    }

    @Test(arguments: [
        ("environments:\n  a:\n    go: \"1.22\"\n    concurrency: many\n", ":4: environments.a.concurrency: expected a whole number"),
        ("environments:\n  a:\n    go: \"1.22\"\n    concurrency: 0\n", ":4: environments.a.concurrency: must be at least 1"),
        ("environments:\n  a:\n    concurrency: 2\n", ":3: environments.a: missing required key \"go\""),
        ("environments:\n  a:\n    go: banana\n", ":3: environments.a.go: \"banana\" is not a Go version"),
        ("environments:\n  a:\n    go: \"1.22\"\n    executor: vm\n", "environments.a.executor: unknown executor"),
        ("environments:\n  a:\n    go: \"1.22\"\n    env: { GOPATH: /x }\n", "environments.a.env.GOPATH: GOPATH is set by gobay"),
        ("projects:\n  p:\n    branch: main\n", ":3: projects.p: missing required key \"repo\""),
        ("projects:\n  p:\n    repo: /r\n    test: maybe\n", ":4: projects.p.test: expected true or false"),
        ("projects:\n  p:\n    repo: /r\n    environment: nope\n", ":4: projects.p.environment: no environment named \"nope\""),
        ("projects:\n  p:\n    repo: /r\n    mode: gopath\n", "projects.p: mode gopath needs import_path"),
        ("projects:\n  p:\n    repo: /r\n    branch: \"$(id)\"\n", ":4: projects.p.branch: \"$(id)\" is not a valid git ref"),
        ("projects:\n  p:\n    repo: /r\n    targets: linux\n", ":4: projects.p.targets: expected a list"),
        ("projects:\n  p:\n    repo: /r\n    targets: [linux]\n", "projects.p.targets: \"linux\" is not GOOS/GOARCH"),
        ("projects:\n  p:\n    repo: /r\n    timeout: soon\n", ":4: projects.p.timeout: \"soon\" is not a duration"),
        ("projects:\n  p:\n    repo: /r\n    output: ../x\n", "projects.p.output: must be a plain file name"),
        ("projects: [a, b]\n", ":1: projects: expected a mapping"),
        ("datadir: x\n", ":1: datadir: unknown key"),
    ])
    func typeAndValueErrors(yaml: String, expected: String) throws {
        let e = try #require(error(yaml))
        #expect(e.message.contains(expected), "\(e.message)")
        #expect(e.message.hasPrefix(path))
    }

    @Test func locateOrder() throws {
        let sandbox = try TestSandbox("locate")
        #expect(try ConfigLoader.locate(explicit: "/a/b.yml", environment: ["GOBAY_CONFIG": "/c.yml"]) == "/a/b.yml")
        #expect(try ConfigLoader.locate(explicit: nil, environment: ["GOBAY_CONFIG": "/c.yml"]) == "/c.yml")
        let previous = FileManager.default.currentDirectoryPath
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        FileManager.default.changeCurrentDirectoryPath(sandbox.path)
        #expect(throws: GobayError.self) { try ConfigLoader.locate(explicit: nil, environment: [:]) }
        try sandbox.write("gobay.yml", "{}\n")
        #expect(try ConfigLoader.locate(explicit: nil, environment: [:]).hasSuffix("/gobay.yml"))
    }

    @Test func starterConfigFromInitIsValid() throws {
        let sandbox = try TestSandbox("init")
        let gobay = try GobayBinary(config: sandbox.path + "/gobay.yml")
        let result = try gobay.run(["init", "--path", sandbox.path + "/gobay.yml"])
        #expect(result.status == 0, "\(result.stderr)")
        let config = try ConfigLoader.load(path: sandbox.path + "/gobay.yml")
        #expect(config.environments.map(\.name) == ["legacy", "modern"])
        #expect(config.projects.count == 2)
        let again = try gobay.run(["init", "--path", sandbox.path + "/gobay.yml"])
        #expect(again.status == 2)
        #expect(again.stderr.contains("already exists"))
        // Readable by gobay alone: build steps run as other users.
        let mode = try FileManager.default.attributesOfItem(atPath: sandbox.path + "/gobay.yml")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    /// `gobay init` with no --path, in an empty directory, writes ./gobay.yml.
    @Test func initInAnEmptyDirectoryWritesThere() throws {
        let sandbox = try TestSandbox("init-bare")
        var spec = try GobayBinary(config: sandbox.path + "/gobay.yml").spec(["init"])
        spec.workingDirectory = sandbox.path
        let (outcome, _, err) = try ProcessRunner.capture(spec, deadline: Date().addingTimeInterval(30))
        #expect(outcome.status == 0, "\(err)")
        #expect(FileManager.default.fileExists(atPath: sandbox.path + "/gobay.yml"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.path) == ["gobay.yml"])
    }

    /// `config check` warns when gobay.yml is readable by the users steps run as.
    @Test func configCheckWarnsAboutAReadableConfig() throws {
        let sandbox = try TestSandbox("check-mode")
        let path = try sandbox.write("gobay.yml", "{}\n")
        chmod(path, 0o644)
        let open = try GobayBinary(config: path).run(["config", "check"])
        #expect(open.stdout.contains("is readable by other users (mode 644)"), "\(open.stdout)")
        chmod(path, 0o600)
        #expect(!(try GobayBinary(config: path).run(["config", "check"]).stdout.contains("readable by other users")))
    }

    /// `--config`, `--server` and `--json` work before the subcommand too, and what follows `--`
    /// stays the command's.
    @Test func globalOptionsBeforeTheSubcommand() throws {
        let world = try BuildWorld(label: "global-options")
        func run(_ args: [String]) throws -> (Int32, String, String) {
            var spec = world.gobay.spec(args)
            spec.environment["GOBAY_CONFIG"] = nil
            spec.workingDirectory = "/"
            let (outcome, out, err) = try ProcessRunner.capture(spec, deadline: Date().addingTimeInterval(120))
            return (outcome.status, out, err)
        }
        let builds = try run(["--config", world.configPath, "--json", "builds"])
        #expect(builds.0 == 0, "\(builds.2)")
        #expect(builds.1.hasPrefix("["), "--json reached builds: \(builds.1)")
        let exec = try run(["--config=\(world.configPath)", "env", "exec", "modern", "--", "go", "env", "GOVERSION"])
        #expect(exec.0 == 0, "\(exec.2)")
        #expect(exec.1 == "go\(world.versions.modern)\n")
        let after = try run(["builds", "--config", world.configPath])
        #expect(after.0 == 0, "\(after.2)")
        let unknown = try run(["--config", world.configPath, "--bogus", "builds"])
        #expect(unknown.0 == 2)
    }

    /// Two environments cannot share a build cache: each runs steps as its own user.
    @Test func environmentsCannotShareABuildCache() throws {
        let yaml = "environments:\n  a:\n    go: \"1.22\"\n    gocache: /srv/cache\n  b:\n    go: \"1.22\"\n    gocache: /srv/cache\n"
        #expect {
            _ = try ConfigLoader.parse(yaml, path: "/etc/gobay/gobay.yml")
        } throws: { error in
            let message = (error as? GobayError)?.message ?? ""
            return message.contains("environments.b.gocache") && message.contains("also environment a's build cache")
        }
    }
}

import Foundation
import GobayCore
import GobayTesting
import Testing

@Suite("gobay build: GOPATH and module projects on three real Go versions")
struct BuildTests {
    @Test func buildMatrixEachBinaryReportsItsEnvironmentsGo() throws {
        let world = try BuildWorld(label: "matrix")
        let expected = [
            ("legacy-svc", "legacy", world.versions.legacy),
            ("modern-svc", "modern", world.versions.modern),
            ("newest-svc", "newest", world.versions.newest),
        ]
        for (project, environment, version) in expected {
            let result = try world.gobay.run(["build", project, "--json"])
            #expect(result.status == 0, "\(project): \(result.stderr)")
            let record = try world.decodeBuild(result.stdout)
            #expect(record.status == .succeeded)
            #expect(record.environment == environment)
            #expect(record.goVersion == version)
            #expect(record.project == project)
            #expect(record.commit.count == 40)
            #expect(record.startedAt != nil && record.finishedAt != nil)
            let startedAt = try #require(
                (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])?["started_at"] as? String)
            #expect(Timestamp.date(startedAt) == record.startedAt)
            #expect(startedAt.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "RFC 3339 with fractions of a second")
            #expect(record.steps.map(\.name) == ["fetch", "deps", "build", "artifacts"])
            let artifact = try #require(record.artifacts.first)
            #expect(record.artifacts.count == 1)
            #expect(artifact.path == world.dataDir + "/builds/\(record.id)/artifacts/\(project)")
            #expect(artifact.sha256 == (try FileDigest.sha256(path: artifact.path)))
            #expect(artifact.size == (try FileManager.default.attributesOfItem(atPath: artifact.path)[.size] as? NSNumber)?.int64Value)
            #expect(artifact.goos == "linux" && artifact.goarch == "amd64")
            let output = try world.runBinary(artifact.path)
            #expect(output.hasPrefix("go\(version)"), "\(project) printed \(output)")
            if project == "legacy-svc" {
                // GOPATH mode: the library came from the shared GOPATH/src, ldflags were expanded.
                #expect(output == "go\(version) hello from corelib v1 \(record.commit.prefix(7))")
                let src = world.dataDir + "/envs/legacy/gopath/src/ex.com/team"
                #expect(FileManager.default.fileExists(atPath: src + "/corelib/greet/greet.go"))
                #expect(FileManager.default.fileExists(atPath: src + "/legacy-svc/main.go"))
            }
        }
        let history = try world.gobay.run(["builds", "--json"])
        let records = try JSONDecoder().decode([BuildRecord].self, from: Data(history.stdout.utf8))
        #expect(records.map(\.project) == ["newest-svc", "modern-svc", "legacy-svc"])
        let filtered = try world.gobay.run(["builds", "--project", "modern-svc", "--json"])
        #expect(try JSONDecoder().decode([BuildRecord].self, from: Data(filtered.stdout.utf8)).count == 1)
    }

    /// A build of a commit the mirror holds already runs no fetch: it works with the origin gone;
    /// a commit the mirror lacks still fetches (and fails clearly when the origin is gone).
    @Test func aCommitTheMirrorHoldsIsBuiltWithoutAFetch() throws {
        let world = try BuildWorld(label: "nofetch")
        let first = try world.modern.head()
        #expect(try world.gobay.run(["build", "modern-svc"]).status == 0)
        let second = try world.modern.commit(["VERSION": "2\n"], message: "second")
        let moved = world.modern.path + "-away"
        try FileManager.default.moveItem(atPath: world.modern.path, toPath: moved)
        defer { try? FileManager.default.moveItem(atPath: moved, toPath: world.modern.path) }
        let rebuilt = try world.gobay.run(["build", "modern-svc", "--commit", first, "--json"])
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        #expect(try world.decodeBuild(rebuilt.stdout).commit == first)
        let missing = try world.gobay.run(["build", "modern-svc", "--commit", second])
        #expect(missing.status != 0 && missing.stderr.contains("cannot fetch"), "\(missing.stderr)")
    }

    @Test func logsArtifactsAndRefsAndCommits() throws {
        let world = try BuildWorld(label: "log")
        let first = try world.modern.head()
        let second = try world.modern.commit(["VERSION": "2\n"], message: "second")
        try Git.run(["-C", world.modern.path, "tag", "v2.0.0"])
        let byCommit = try world.decodeBuild(try world.gobay.run(["build", "modern-svc", "--commit", first, "--json"]).stdout)
        #expect(byCommit.commit == first && byCommit.status == .succeeded)
        let byTag = try world.decodeBuild(try world.gobay.run(["build", "modern-svc", "--ref", "v2.0.0", "--json"]).stdout)
        #expect(byTag.commit == second && byTag.ref == "v2.0.0")
        let byShort = try world.decodeBuild(
            try world.gobay.run(["build", "modern-svc", "--commit", String(first.prefix(10)), "--json"]).stdout)
        #expect(byShort.commit == first)

        let log = try world.gobay.run(["log", "\(byTag.id)"])
        #expect(log.status == 0)
        for tag in ["[fetch]", "[deps]", "[build]", "[artifacts]", "[gobay] build #\(byTag.id) succeeded"] {
            #expect(log.stdout.contains(tag), "log lacks \(tag)")
        }
        // Every line is timestamped.
        for line in log.stdout.split(separator: "\n") {
            #expect(Timestamp.date(String(line.prefix(24))) != nil, "untimestamped: \(line)")
        }
        let artifacts = try world.gobay.run(["artifacts", "\(byTag.id)", "--json"])
        let listed = try JSONDecoder().decode([ArtifactRecord].self, from: Data(artifacts.stdout.utf8))
        #expect(listed == byTag.artifacts)
        #expect(try world.gobay.run(["log", "999"]).status == 2)
    }

    @Test func failedBuildExitsOneAndRecordsIt() throws {
        let world = try BuildWorld(label: "fail")
        try world.modern.commit(["main.go": "package main\n\nfunc main() { undefined() }\n"], message: "broken")
        let result = try world.gobay.run(["build", "modern-svc", "--json"])
        #expect(result.status == 1)
        let record = try world.decodeBuild(result.stdout)
        #expect(record.status == .failed)
        #expect(record.error?.contains("build") == true)
        #expect(record.artifacts.isEmpty)
        #expect(result.stderr.contains("undefined: undefined"))
        #expect(record.steps.last?.status == .failed)
    }

    @Test func crossCompilesEachTarget() throws {
        let world = try BuildWorld(
            label: "targets",
            extraProjects: """
                  multi:
                    repo: repos/modern-svc
                    output: svc
                    targets: [linux/amd64, linux/arm64, windows/amd64]
                    ldflags: "-X main.version={date}"
                """)
        let record = try world.decodeBuild(try world.gobay.run(["build", "multi", "--json"]).stdout)
        #expect(record.status == .succeeded)
        #expect(record.artifacts.map(\.name) == ["svc-linux-amd64", "svc-linux-arm64", "svc-windows-amd64.exe"])
        #expect(record.artifacts.map(\.goarch) == ["amd64", "arm64", "amd64"])
        let arm = try #require(FileManager.default.contents(atPath: record.artifacts[1].path))
        #expect(arm[18] == 0xB7, "ELF e_machine is AArch64")
        // {date} is expanded once per build: every binary carries the same one (the value of
        // main.version is a string literal inside each binary).
        let stamps = try record.artifacts.map { artifact -> String in
            let bytes = try #require(FileManager.default.contents(atPath: artifact.path))
            let text = String(decoding: bytes.map { $0 < 128 ? $0 : 0 }, as: UTF8.self)
            guard let range = text.range(of: "20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z", options: .regularExpression)
            else { return "none" }
            return String(text[range])
        }
        #expect(stamps.count == 3 && Set(stamps).count == 1 && stamps[0] != "none", "\(stamps)")
    }

    /// A project that vendors its dependencies builds offline: no `go mod download` (which fails
    /// with GOPROXY=off), -mod=vendor for the build.
    @Test func vendoredProjectBuildsOffline() throws {
        let world = try BuildWorld(
            label: "vendor",
            extraProjects: """
                  vendored:
                    repo: repos/vendored
                    branch: main
                """)
        try world.editConfig("  modern:\n    go: \"1.22\"\n", "  modern:\n    go: \"1.22\"\n    env: { GOPROXY: \"off\" }\n")
        _ = try GitFixture(
            path: world.sandbox.path + "/repos/vendored", branch: "main",
            files: [
                "go.mod": "module ex.com/team/vendored\n\ngo 1.22\n\nrequire ex.com/dep v1.0.0\n",
                "main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"ex.com/dep\"\n)\n\nfunc main() { fmt.Println(dep.Name()) }\n",
                "vendor/modules.txt": "# ex.com/dep v1.0.0\n## explicit; go 1.22\nex.com/dep\n",
                "vendor/ex.com/dep/dep.go": "package dep\n\nfunc Name() string { return \"from vendor\" }\n",
            ])
        let result = try world.gobay.run(["build", "vendored", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("building from vendor/"), "\(result.stderr)")
        let artifact = try #require(try world.decodeBuild(result.stdout).artifacts.first)
        #expect(try world.runBinary(artifact.path) == "from vendor")
    }

    @Test func twoBuildsOnTwoEnvironmentsRunAtTheSameTime() throws {
        let world = try BuildWorld(label: "concurrent", legacySettings: "    test: true")
        // A slow test makes both builds long enough that one after the other could not overlap.
        try world.legacy.commit(["slow_test.go": GoSources.sleepingTest(seconds: 2)], message: "slow")
        try world.modern.commit(["slow_test.go": GoSources.sleepingTest(seconds: 2)], message: "slow")
        try world.editConfig("    branch: main\n", "    branch: main\n    test: true\n")

        let a = try ChildProcess(
            world.gobay.spec(["build", "legacy-svc", "--json"]), stdoutPath: world.sandbox.path + "/a.json",
            stderrPath: world.sandbox.path + "/a.log")
        let b = try ChildProcess(
            world.gobay.spec(["build", "modern-svc", "--json"]), stdoutPath: world.sandbox.path + "/b.json",
            stderrPath: world.sandbox.path + "/b.log")
        #expect(a.wait() == 0, "\(a.stderr)")
        #expect(b.wait() == 0, "\(b.stderr)")
        let ra = try world.decodeBuild(a.stdout)
        let rb = try world.decodeBuild(b.stdout)
        #expect(ra.steps.map(\.name).contains("test") && rb.steps.map(\.name).contains("test"))
        let (sa, fa) = (ra.startedAt!, ra.finishedAt!)
        let (sb, fb) = (rb.startedAt!, rb.finishedAt!)
        #expect(sa < fb && sb < fa, "builds did not overlap: \(ra.startedAt!)–\(ra.finishedAt!) vs \(rb.startedAt!)–\(rb.finishedAt!)")
        #expect(try world.runBinary(try #require(ra.artifacts.first).path).hasPrefix("go" + world.versions.legacy))
        #expect(try world.runBinary(try #require(rb.artifacts.first).path).hasPrefix("go" + world.versions.modern))
    }

    @Test func buildsOfOneProjectRunOneAtATime() throws {
        let world = try BuildWorld(label: "serial")
        try world.modern.commit(
            ["slow_test.go": GoSources.sleepingTest(seconds: 1)],
            message: "slow")
        try world.editConfig("    branch: main\n", "    branch: main\n    test: true\n")
        let a = try ChildProcess(world.gobay.spec(["build", "modern-svc", "--json"]), stdoutPath: world.sandbox.path + "/a", stderrPath: world.sandbox.path + "/ae")
        let b = try ChildProcess(world.gobay.spec(["build", "modern-svc", "--json"]), stdoutPath: world.sandbox.path + "/b", stderrPath: world.sandbox.path + "/be")
        #expect(a.wait() == 0 && b.wait() == 0, "\(a.stderr)\(b.stderr)")
        let ra = try world.decodeBuild(a.stdout)
        let rb = try world.decodeBuild(b.stdout)
        // Whichever got the project first; the other may not start before it ended.
        let (first, second) = ra.startedAt! < rb.startedAt! ? (ra, rb) : (rb, ra)
        // go test caches the passing result, so the second build is quick, but it must not start before the first ends.
        #expect(second.startedAt! >= first.finishedAt!.addingTimeInterval(-0.01))
    }
}

import Foundation
import GobayCore
import GobayTesting
import Testing

@Suite("bad input: a clear message, exit code 2, nothing written")
struct BadInputTests {
    /// Everything under the data dir that records builds.
    func buildState(_ world: BuildWorld) -> [String] {
        ["gobay.sqlite", "builds", "work", "envs"].filter { FileManager.default.fileExists(atPath: world.dataDir + "/" + $0) }
    }

    @Test func invalidYAML() throws {
        let sandbox = try TestSandbox("bad")
        let config = try sandbox.write("gobay.yml", "projects:\n  a:\n    repo: [unclosed\n")
        let result = try GobayBinary(config: config).run(["build", "a"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(config): invalid YAML"))
        #expect(!result.stderr.contains("Fatal error"))
        #expect(!sandbox.exists(".gobay"))
    }

    @Test func unknownKey() throws {
        let sandbox = try TestSandbox("bad")
        let config = try sandbox.write("gobay.yml", "projects:\n  a:\n    repo: /x\n    brnach: main\n")
        let result = try GobayBinary(config: config).run(["config", "check"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(config):4: projects.a.brnach: unknown key \"brnach\""))
        #expect(!sandbox.exists(".gobay"))
    }

    @Test func missingConfigFile() throws {
        let sandbox = try TestSandbox("bad")
        let result = try GobayBinary(config: sandbox.path + "/nope.yml").run(["builds"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("cannot read config file"))
        #expect(result.stderr.contains("gobay init"))
    }

    @Test func unknownProjectAndBadRefs() throws {
        let world = try BuildWorld(label: "badref")
        let unknown = try world.gobay.run(["build", "nosuch"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown project \"nosuch\""))
        #expect(unknown.stderr.contains("legacy-svc"))
        for ref in ["$(id)", "-x", "a..b", "$(touch /tmp/gobay-x)"] {
            let result = try world.gobay.run(["build", "modern-svc", "--ref=\(ref)"])
            #expect(result.status == 2, "\(ref)")
            #expect(result.stderr.contains("ref \"\(ref)\" is not a valid git ref"), "\(ref): \(result.stderr)")
        }
        let missing = try world.gobay.run(["build", "modern-svc", "--ref", "no-such-branch"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("does not exist"))
        let badCommit = try world.gobay.run(["build", "modern-svc", "--commit", "zzzz"])
        #expect(badCommit.status == 2)
        let unknownEnv = try world.gobay.run(["build", "modern-svc", "--env", "nope"])
        #expect(unknownEnv.status == 2 && unknownEnv.stderr.contains("unknown environment \"nope\""))
        #expect(buildState(world) == [])
        #expect(!FileManager.default.fileExists(atPath: "/tmp/gobay-x"))
    }

    @Test func missingToolchain() throws {
        let world = try BuildWorld(
            label: "notool",
            extraProjects: """
                  old:
                    repo: repos/modern-svc
                    environment: ancient
                """)
        try world.editConfig("environments:\n", "environments:\n  ancient:\n    go: \"1.17\"\n")
        let result = try world.gobay.run(["build", "old"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("environment \"ancient\" needs Go 1.17, and no installed toolchain matches"))
        #expect(result.stderr.contains("gobay toolchain install 1.17"))
        #expect(buildState(world) == [])
    }

    @Test func goModNewerThanEveryEnvironment() throws {
        let world = try BuildWorld(label: "toonew")
        try world.modern.commit(["go.mod": "module ex.com/team/modern-svc\n\ngo 1.99\n"], message: "future")
        let result = try world.gobay.run(["build", "modern-svc"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("needs Go 1.99 (from go.mod), and no environment has it"))
        #expect(buildState(world) == [])
    }

    @Test func gopathProjectWithoutEnvironment() throws {
        let world = try BuildWorld(
            label: "noenv",
            extraProjects: """
                  loose:
                    repo: repos/legacy-svc
                    import_path: ex.com/team/loose
                """)
        let result = try world.gobay.run(["build", "loose"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("builds in GOPATH mode and names no environment"))
        #expect(buildState(world) == [])
    }
}

import Foundation
import GobayCore
import GobayTesting
import Testing

@Suite("environments: own GOPATH, caches and toolchain per Go version")
struct EnvironmentTests {
    func goEnv(_ world: BuildWorld, _ env: String) throws -> [String: String] {
        let result = try world.gobay.run(["env", "exec", env, "--", "go", "env"])
        #expect(result.status == 0, "\(result.stderr)")
        var vars: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            vars[String(line[..<eq])] = String(line[line.index(after: eq)...]).trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        }
        return vars
    }

    @Test func goEnvDiffersOnlyWhereItShould() throws {
        let world = try BuildWorld(label: "goenv")
        let modern = try goEnv(world, "modern")
        let newest = try goEnv(world, "newest")
        #expect(modern["GOPATH"] == world.dataDir + "/envs/modern/gopath")
        #expect(modern["GOMODCACHE"] == world.dataDir + "/envs/modern/gomodcache")
        #expect(modern["GOROOT"] == TestToolchains.go122)
        #expect(modern["GOTOOLCHAIN"] == "local")
        #expect(newest["GOPATH"] == world.dataDir + "/envs/newest/gopath")
        #expect(newest["GOVERSION"] == "go" + world.versions.newest)
        let expectedToDiffer: Set<String> = [
            "GOPATH", "GOMODCACHE", "GOCACHE", "GOROOT", "GOTOOLDIR", "GOVERSION", "GOENV", "GOTELEMETRYDIR",
            "GOGCCFLAGS", "GOBIN",
        ]
        let shared = Set(modern.keys).intersection(newest.keys)
        let differing = shared.filter { modern[$0] != newest[$0] }
        #expect(differing.isSubset(of: expectedToDiffer), "unexpected differences: \(differing.subtracting(expectedToDiffer).sorted())")
    }

    @Test func processEnvironmentIsNotInherited() throws {
        let world = try BuildWorld(label: "inherit")
        var spec = world.gobay.spec(["env", "exec", "legacy", "--", "env"])
        spec.environment["GOPATH"] = "/leaked"
        spec.environment["GOFLAGS"] = "-leaked"
        spec.environment["SECRET_TOKEN"] = "hunter2"
        let result = try ProcessRunner.capture(spec)
        #expect(result.outcome.status == 0)
        #expect(result.stdout.contains("GOPATH=\(world.dataDir)/envs/legacy/gopath\n"))
        #expect(!result.stdout.contains("leaked"))
        #expect(!result.stdout.contains("hunter2"))
        let module = try world.gobay.run(["env", "exec", "legacy", "--mode", "gopath", "--", "go", "env", "GO111MODULE"])
        #expect(module.stdout == "off\n")
    }

    @Test func listAndInfo() throws {
        let world = try BuildWorld(label: "envlist")
        let list = try world.gobay.run(["env", "list", "--json"])
        #expect(list.status == 0)
        let parsed = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]
        #expect(parsed?.compactMap { $0["name"] as? String } == ["legacy", "modern", "newest"])
        #expect(parsed?.compactMap { $0["go_version"] as? String } == [world.versions.legacy, world.versions.modern, world.versions.newest])
        let info = try world.gobay.run(["env", "info", "modern"])
        #expect(info.stdout.contains("go: 1.22 -> \(world.versions.modern)"))
        #expect(try world.gobay.run(["env", "info", "nope"]).status == 2)
        let exec = try world.gobay.run(["env", "exec", "modern", "--", "no-such-tool"])
        #expect(exec.status == 2 && exec.stderr.contains("not found"))
    }

    @Test func secretsInEnvironmentVariablesAreMasked() throws {
        let world = try BuildWorld(label: "mask")
        try world.editConfig(
            "  modern:\n    go: \"1.22\"\n",
            "  modern:\n    go: \"1.22\"\n    env: { GOPROXY: \"https://ci:hunter2@proxy.example.com\", GITLAB_TOKEN: glpat-s3cr3t, GOFLAGS: -mod=mod }\n")
        for args in [["config", "check"], ["env", "info", "modern"], ["env", "info", "modern", "--json"], ["env", "list", "--json"]] {
            let out = try world.gobay.run(args)
            #expect(out.status == 0, "\(args): \(out.stderr)")
            #expect(!out.stdout.contains("hunter2") && !out.stdout.contains("glpat-s3cr3t"), "\(args) leaks a secret")
        }
        #expect(try world.gobay.run(["env", "info", "modern"]).stdout.contains("GOPROXY=https://ci:***@proxy.example.com"))
        #expect(try world.gobay.run(["config", "check"]).stdout.contains("env GOFLAGS=-mod=mod"))
        // The go process itself still gets the real values.
        let real = try world.gobay.run(["env", "exec", "modern", "--", "go", "env", "GOPROXY"])
        #expect(real.stdout == "https://ci:hunter2@proxy.example.com\n")
        #expect(SecretMask.value("abc", name: "DEPLOY_KEY") == "***")
        #expect(SecretMask.urlPasswords("a https://u:p@h/x, b") == "a https://u:***@h/x, b")
        let cases: [(String, String)] = [
            ("git fetch https://ci:s3:cr3t@gitlab/x.git and ssh://git:pw@h:22/y", "git fetch https://ci:***@gitlab/x.git and ssh://git:***@h:22/y"),
            ("https://u@h/x https://:p@h https://u:@h", "https://u@h/x https://:p@h https://u:@h"),
            ("https://u:p/@h https://u:p q@h https://u,v:p@h", "https://u:p/@h https://u:p q@h https://u,v:p@h"),
            ("://a:b@ ://a:b", "://a:***@ ://a:b"), ("no url: a:b@c", "no url: a:b@c"), ("é://ü:ö@x", "é://ü:***@x"),
        ]
        for (given, expected) in cases { #expect(SecretMask.urlPasswords(given) == expected, "\(given)") }
    }
}

import Foundation
import GobayCore
import GobayTesting
import Testing

@Suite("Shared libraries: one update reaches every environment, dependents rebuild")
struct LibraryTests {
    /// The defect the issue starts from: a library placed once was never updated. Now a push,
    /// `lib update --rebuild`, and every dependent in three environments (GOPATH on 1.19, GOPATH
    /// with GO111MODULE=off on the newest Go, module mode on 1.22) prints the new text.
    @Test func fanOutReachesEveryEnvironmentAndRebuildsDependents() throws {
        let lw = try LibraryWorld(label: "lib-fanout")
        let gobay = lw.world.gobay
        // First builds: each dependent compiles against v1 and records it.
        let v1 = try lw.world.corelib.head()
        for (project, env) in LibraryWorld.dependents {
            let result = try gobay.run(["build", project, "--json"])
            #expect(result.status == 0, "\(project): \(result.stderr)")
            let record = try lw.world.decodeBuild(result.stdout)
            #expect(record.environment == env)
            #expect(record.libraries == ["corelib": v1], "\(project)")
            #expect(try lw.output(of: record).contains("hello from corelib v1"), "\(project)")
        }
        // The demo case: a new library commit, then a plain rebuild of legacy-svc gets it.
        let v2 = try lw.pushLibrary("hello from corelib v2")
        let legacy = try lw.world.decodeBuild(try gobay.run(["build", "legacy-svc", "--json"]).stdout)
        #expect(legacy.libraries == ["corelib": v2])
        #expect(try lw.output(of: legacy).contains("hello from corelib v2"))
        let log = try String(contentsOfFile: lw.world.dataDir + "/builds/\(legacy.id)/log", encoding: .utf8)
        #expect(log.contains("library corelib at \(v2)"))

        // A push, then `lib update --rebuild`: every environment holds it, every dependent rebuilt.
        let v3 = try lw.pushLibrary("hello from corelib v3")
        let update = try gobay.run(["lib", "update", "corelib", "--rebuild", "--json"])
        #expect(update.status == 0, "\(update.stderr)")
        let status = try lw.status()
        #expect(Set(status.map(\.environment)) == ["legacy", "modern", "newest"])
        for row in status {
            #expect(row.commit == v3, "\(row.environment)")
            #expect(row.commitDate != nil && row.updatedAt != nil && row.pin == nil)
        }
        struct Output: Decodable {
            var environments: [LibraryUpdater.Change]
            var builds: [BuildRecord]
        }
        let output = try JSONDecoder().decode(Output.self, from: Data(update.stdout.utf8))
        #expect(output.environments.allSatisfy { $0.to == v3 })
        #expect(Set(output.builds.map(\.project)) == Set(LibraryWorld.dependents.map(\.0)))
        for build in output.builds {
            #expect(build.status == .succeeded, "\(build.project)")
            #expect(build.trigger == .library)
            #expect(build.cause == LibraryCause(library: "corelib", commit: v3))
            #expect(build.libraries == ["corelib": v3])
            #expect(try lw.output(of: build).contains("hello from corelib v3"), "\(build.project)")
        }
        // The module project's repository and go.mod were never changed.
        #expect(try Git.run(["-C", lw.modSvc.path, "status", "--porcelain"]).isEmpty)
        // Dependents are learned from the builds, in each environment.
        let dependents = try JSONDecoder().decode(
            [LibraryReport.Dependent].self, from: Data(try gobay.run(["lib", "dependents", "corelib", "--json"]).stdout.utf8))
        #expect(Set(dependents.map { "\($0.project)@\($0.environment ?? "")" }) == Set(LibraryWorld.dependents.map { "\($0.0)@\($0.1)" }))
        #expect(dependents.allSatisfy { $0.source == "build" && $0.commit == v3 })
        // And through the API's record too.
        let listed = try JSONDecoder().decode([BuildRecord].self, from: Data(try gobay.run(["builds", "--json"]).stdout.utf8))
        #expect(listed.first?.libraries == ["corelib": v3])
    }

    /// Four builds that read the library run while a commit that changes two files together
    /// (a constant renamed in one, used in the other: any mix fails to compile) is pushed and
    /// swapped in. Each build compiles twice (`go test`, whose test sleeps, then `go build`),
    /// and the push comes once all four are testing. Ten rounds: every build succeeds, records
    /// the old or the new commit, and its binary prints exactly that commit's text.
    @Test func updatesDuringBuildsNeverMixTwoCommits() throws {
        let lw = try LibraryWorld(label: "lib-race", slowTests: 1)
        let gobay = lw.world.gobay
        func twoFiles(_ round: Int) -> [String: String] {
            [
                "greet/greet.go": "package greet\n\nfunc Hello() string { return Name\(round) }\n",
                "greet/name.go": "package greet\n\nconst Name\(round) = \"hello from corelib round \(round)\"\n",
            ]
        }
        var texts: [String: String] = [:]
        var previous = try lw.world.corelib.commit(twoFiles(0), message: "round 0")
        texts[previous] = "hello from corelib round 0"
        #expect(try gobay.run(["lib", "update", "corelib"]).status == 0)
        let sandbox = lw.world.sandbox.path
        for round in 1...10 {
            let builds = try LibraryWorld.dependents.map { project, _ in
                try ChildProcess(
                    gobay.spec(["build", project, "--json"]), stdoutPath: "\(sandbox)/r\(round)-\(project).out",
                    stderrPath: "\(sandbox)/r\(round)-\(project).err")
            }
            // Every build is past its deps step, compiling or running its tests under the read lock.
            let testing = Date().addingTimeInterval(60)
            while Date() < testing, !builds.allSatisfy({ $0.stderr.contains("$ go test") }) { usleep(20_000) }
            let commit = try lw.world.corelib.commit(twoFiles(round), message: "round \(round)")
            texts[commit] = "hello from corelib round \(round)"
            let update = try gobay.run(["lib", "update", "corelib"])
            #expect(update.status == 0, "round \(round): \(update.stderr)")
            for (index, child) in builds.enumerated() {
                let project = LibraryWorld.dependents[index].0
                #expect(child.wait() == 0, "round \(round) \(project): \(child.stderr.suffix(2000))")
                let record = try lw.world.decodeBuild(child.stdout)
                let used = try #require(record.libraries?["corelib"], "round \(round) \(project)")
                #expect(used == previous || used == commit, "round \(round) \(project) used \(used)")
                let text = try #require(texts[used])
                #expect(try lw.output(of: record).contains(text), "round \(round) \(project)")
            }
            #expect(try lw.status().allSatisfy { $0.commit == commit }, "round \(round)")
            previous = commit
        }
    }

    /// A library commit that needs Go 1.22 breaks the Go 1.19 dependents: their log names the
    /// library and the commit. Pinning that environment to the last good commit makes them
    /// pass again, while the other environments keep the new commit.
    @Test func breakingCommitThenPinHoldsOneEnvironmentBack() throws {
        let lw = try LibraryWorld(label: "lib-pin")
        let gobay = lw.world.gobay
        let good = try lw.world.corelib.head()
        for (project, _) in LibraryWorld.dependents {
            #expect(try gobay.run(["build", project]).status == 0, "\(project)")
        }
        let broken = try lw.world.corelib.commit(
            [
                "go.mod": "module ex.com/team/corelib\n\ngo 1.22\n",
                "greet/greet.go": "package greet\n\nfunc Hello() string {\n\tn := 0\n\tfor range 3 {\n\t\tn++\n\t}\n\treturn \"hello from corelib ranges\"\n}\n",
            ], message: "use range over int")
        let update = try gobay.run(["lib", "update", "corelib", "--rebuild", "--json"])
        #expect(update.status == 1, "the Go 1.19 rebuilds fail: \(update.stderr)")
        let failed = try lw.world.decodeBuild(try gobay.run(["build", "legacy-svc", "--json"]).stdout)
        #expect(failed.status == .failed)
        #expect(failed.libraries == ["corelib": broken])
        let log = try String(contentsOfFile: lw.world.dataDir + "/builds/\(failed.id)/log", encoding: .utf8)
        #expect(log.contains("library corelib at \(broken)"), "\(log)")
        #expect(log.contains("gobay lib pin corelib COMMIT --env legacy"))
        for project in ["gopath-new", "mod-svc"] {
            let record = try lw.world.decodeBuild(try gobay.run(["build", project, "--json"]).stdout)
            #expect(record.status == .succeeded, "\(project)")
            #expect(try lw.output(of: record).contains("hello from corelib ranges"), "\(project)")
        }

        let pin = try gobay.run(["lib", "pin", "corelib", String(good.prefix(8)), "--env", "legacy"])
        #expect(pin.status == 0, "\(pin.stderr)")
        let fixed = try lw.world.decodeBuild(try gobay.run(["build", "legacy-svc", "--json"]).stdout)
        #expect(fixed.status == .succeeded)
        #expect(fixed.libraries == ["corelib": good])
        #expect(try lw.output(of: fixed).contains("hello from corelib v1"))
        // Another update keeps the pin; the other environments keep the new commit.
        #expect(try gobay.run(["lib", "update", "corelib"]).status == 0)
        let rows = try lw.status()
        let legacy = try #require(rows.first { $0.environment == "legacy" })
        #expect(legacy.commit == good && legacy.pin == LibraryUpdater.Pin(commit: good, source: "command"))
        #expect(rows.filter { $0.environment != "legacy" }.allSatisfy { $0.commit == broken && $0.pin == nil })
        let table = try gobay.run(["lib", "status"]).stdout
        #expect(table.contains("gobay lib pin"), "\(table)")

        // Unpinned, legacy follows the branch again.
        #expect(try gobay.run(["lib", "unpin", "corelib", "--env", "legacy"]).status == 0)
        #expect(try lw.status().allSatisfy { $0.commit == broken && $0.pin == nil })
    }

    /// kill -9 at random moments of an update of a 2,000-file library: each environment holds
    /// the old tree or the new one, whole, and the next update completes.
    @Test func killedUpdateLeavesEachEnvironmentWholeAndTheNextOneCompletes() throws {
        let lw = try LibraryWorld(label: "lib-kill")
        let gobay = lw.world.gobay
        func files(_ version: Int) -> [String: String] {
            var files: [String: String] = [:]
            for i in 0..<2000 { files[String(format: "gen/f%04d.go", i)] = "package gen\n\nconst V\(i) = \"v\(version)\"\n" }
            return files
        }
        var commits = [try lw.world.corelib.commit(files(0), message: "v0")]
        #expect(try gobay.run(["lib", "update", "corelib"]).status == 0)
        let envs = LibraryWorld.dependents.map(\.1).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let delays: [useconds_t] = [0, 20_000, 50_000, 90_000, 140_000, 200_000, 300_000]
        for (round, delay) in delays.enumerated() {
            let version = round + 1
            commits.append(try lw.world.corelib.commit(files(version), message: "v\(version)"))
            let victim = try ChildProcess(
                gobay.spec(["lib", "update", "corelib"]), stdoutPath: lw.world.sandbox.path + "/k\(round).out",
                stderrPath: lw.world.sandbox.path + "/k\(round).err")
            usleep(delay)
            victim.signal(SIGKILL)
            _ = victim.wait()
            for env in envs {
                let checkout = lw.world.dataDir + "/envs/\(env)/gopath/src/ex.com/team/corelib"
                let marker = try String(contentsOfFile: checkout + "/.gobay-library", encoding: .utf8)
                let held = try #require(commits.firstIndex { marker.contains($0) }, "round \(round) \(env): \(marker)")
                #expect(held == version - 1 || held == version, "round \(round) \(env) holds v\(held)")
                var mixed: [String] = []
                for i in 0..<2000 {
                    let text = try String(contentsOfFile: checkout + String(format: "/gen/f%04d.go", i), encoding: .utf8)
                    if !text.contains("\"v\(held)\"") { mixed.append(String(i)) }
                }
                #expect(mixed.isEmpty, "round \(round) \(env): \(mixed.count) files are not v\(held)")
            }
            let next = try gobay.run(["lib", "update", "corelib"])
            #expect(next.status == 0, "round \(round): \(next.stderr)")
            #expect(try lw.status().allSatisfy { $0.commit == commits[version] })
        }
        // No staged or old trees are left beside the checkouts.
        for env in envs {
            let parent = lw.world.dataDir + "/envs/\(env)/gopath/src/ex.com/team"
            let names = try FileManager.default.contentsOfDirectory(atPath: parent)
            #expect(!names.contains { $0.hasPrefix(".gobay-library") }, "\(env): \(names)")
        }
    }

    /// Every bad input gets a clear error, exit code 2 (1 for an unreachable repository), and
    /// changes nothing.
    @Test func badInputIsRefusedAndChangesNothing() throws {
        let lw = try LibraryWorld(label: "lib-bad", librarySettings: "    pin: { newest: \"0000000\" }\n")
        let gobay = lw.world.gobay
        // A pin in gobay.yml that is not in the repository: the update names it and touches nothing.
        let badPin = try gobay.run(["lib", "update", "corelib"])
        #expect(badPin.status == 2 && badPin.stderr.contains("pinned to 0000000"), "\(badPin.stderr)")
        #expect(try lw.status().allSatisfy { $0.commit == nil })
        try lw.world.editConfig("    pin: { newest: \"0000000\" }\n", "")
        #expect(try gobay.run(["lib", "update", "corelib"]).status == 0)
        let before = try lw.status()

        let cases: [([String], String)] = [
            (["lib", "update", "nope"], "unknown library \"nope\""),
            (["lib", "update", "corelib", "--env", "nope"], "unknown environment"),
            (["lib", "status", "nope"], "unknown library"),
            (["lib", "dependents", "nope"], "unknown library"),
            (["lib", "pin", "corelib", "deadbeef", "--env", "legacy"], "commit deadbeef is not in"),
            (["lib", "pin", "corelib", "not-a-commit", "--env", "legacy"], "is not a commit id"),
            (["lib", "pin", "corelib", String(before[0].commit?.prefix(8) ?? ""), "--env", "nope"], "unknown environment"),
            (["lib", "unpin", "corelib", "--env", "legacy"], "not pinned"),
        ]
        for (args, message) in cases {
            let result = try gobay.run(args)
            #expect(result.status == 2, "\(args): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains(message), "\(args): \(result.stderr)")
        }
        #expect(try lw.status() == before)

        // A repository that cannot be reached: exit 1, the library named, no environment touched.
        try lw.world.editConfig("    repo: repos/corelib\n", "    repo: repos/no-such-library\n")
        let unreachable = try gobay.run(["lib", "update", "corelib"])
        #expect(unreachable.status == 1, "\(unreachable.stderr)")
        #expect(unreachable.stderr.contains("library \"corelib\""), "\(unreachable.stderr)")
        try lw.world.editConfig("    repo: repos/no-such-library\n", "    repo: repos/corelib\n")
        #expect(try lw.status() == before)

        // A config pin cannot be released by command.
        try lw.world.editConfig("    import_path: ex.com/team/corelib\n", "    import_path: ex.com/team/corelib\n    pin: { legacy: \"\(before[0].commit ?? "")\" }\n")
        let unpinConfig = try gobay.run(["lib", "unpin", "corelib", "--env", "legacy"])
        #expect(unpinConfig.status == 2 && unpinConfig.stderr.contains("remove libraries.corelib.pin.legacy"), "\(unpinConfig.stderr)")
        // A command pin and the config's both show, with where each came from; the command's wins.
        let head = try #require(before[0].commit)
        #expect(try gobay.run(["lib", "pin", "corelib", head, "--env", "legacy"]).status == 0)
        let legacy = try #require(try lw.status().first { $0.environment == "legacy" })
        #expect(legacy.pins.map(\.source) == ["command", "config"] && legacy.pin?.source == "command", "\(legacy)")
        #expect(try gobay.run(["lib", "status"]).stdout.contains("(gobay.yml, overridden)"))
    }

    /// Library settings that cannot work are refused by `config check`, naming the key.
    @Test func configCheckRefusesBadLibraries() throws {
        let lw = try LibraryWorld(label: "lib-config")
        let gobay = lw.world.gobay
        let original = "    import_path: ex.com/team/corelib\n"
        let cases: [(String, String)] = [
            ("    import_path: ex.com/../corelib\n", "contains \"..\""),
            ("    import_path: /srv/corelib\n", "absolute path"),
            ("    import_path: https://ex.com/team/corelib\n", "has a scheme"),
            (original + "    environments: [legacy, nope]\n", "unknown environment \"nope\""),
            (original + "    environments: [legacy]\n    pin: { modern: abc1234 }\n", "not in this library's environments"),
            (original + "    pin: { legacy: main }\n", "is not a commit id"),
            (original + "    rebuild: sometimes\n", "expected dependents or none"),
            (original + "  corelib-sub:\n    repo: repos/corelib\n    import_path: ex.com/team/corelib/greet\n", "overlaps library corelib"),
        ]
        for (replacement, message) in cases {
            try lw.world.editConfig(original, replacement)
            let result = try gobay.run(["config", "check"])
            #expect(result.status == 2, "\(replacement): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(replacement): \(result.stderr)")
            try lw.world.editConfig(replacement, original)
        }
        #expect(try gobay.run(["config", "check"]).status == 0)
    }

    /// An update into environments no build has used yet makes their directories; the step user
    /// must still own what it writes (here the environment's own build cache).
    @Test func anUpdateBeforeTheFirstBuildLeavesTheEnvironmentUsable() throws {
        let lw = try LibraryWorld(label: "lib-first")
        let cache = "    gocache: \(try TestToolchains.sharedGocache(TestToolchains.go119))\n"
        try lw.world.editConfig(cache, "")
        #expect(try lw.world.gobay.run(["lib", "update", "corelib"]).status == 0)
        let result = try lw.world.gobay.run(["build", "legacy-svc", "--json"])
        #expect(result.status == 0, "\(result.stderr.suffix(1500))")
        #expect(try lw.output(of: try lw.world.decodeBuild(result.stdout)).contains("hello from corelib v1"))
    }

    /// A checkout's marker lives in a GOPATH steps can write: a fifo in its place (which a read by
    /// path would wait on forever) or a link to a marker elsewhere makes that environment hold no
    /// checkout, and the others are reported as before.
    @Test func aMarkerSwappedForAFifoOrALinkIsNoCheckoutAndHangsNothing() throws {
        let lw = try LibraryWorld(label: "lib-marker")
        #expect(try lw.world.gobay.run(["lib", "update", "corelib"]).status == 0)
        let before = try lw.status()
        #expect(before.count >= 3 && before.allSatisfy { $0.commit != nil }, "\(before)")
        var markers: [String] = []
        let envs = lw.world.dataDir + "/envs"
        let walk = FileManager.default.enumerator(atPath: envs)
        while let relative = walk?.nextObject() as? String {
            if (relative as NSString).lastPathComponent == ".gobay-library" { markers.append(envs + "/" + relative) }
        }
        markers.sort()
        #expect(markers.count == before.count, "\(markers)")
        let elsewhere = lw.world.sandbox.path + "/marker-elsewhere"
        #expect(rename(markers[0], elsewhere) == 0 && mkfifo(markers[0], 0o644) == 0)
        #expect(unlink(markers[1]) == 0 && symlink(elsewhere, markers[1]) == 0)
        let after = try lw.status()
        #expect(after.filter { $0.commit == nil }.count == 2, "\(after)")
        #expect(after.filter { $0.commit != nil }.count == before.count - 2)
    }

    /// Each environment's checkout shares its files with the clean tree (hard links), which is
    /// safe only because the steps cannot write them: a test that tries to write, chmod and
    /// remove the library's file in its GOPATH is refused, and every environment keeps the text.
    @Test func aBuildCannotWriteTheLibraryOtherEnvironmentsRead() throws {
        let lw = try LibraryWorld(label: "lib-hostile")
        try lw.legacyTwo.commit(
            [
                "attack_test.go": """
                    package main

                    import (
                    \t"os"
                    \t"path/filepath"
                    \t"testing"
                    )

                    func TestAttack(t *testing.T) {
                    \tlib := filepath.Join(os.Getenv("GOPATH"), "src/ex.com/team/corelib/greet/greet.go")
                    \tif f, err := os.OpenFile(lib, os.O_WRONLY|os.O_APPEND, 0); err == nil {
                    \t\tf.WriteString("// tampered")
                    \t\tf.Close()
                    \t\tt.Log("ATTACK write: done")
                    \t} else {
                    \t\tt.Log("ATTACK write: refused")
                    \t}
                    \tif os.Chmod(lib, 0666) == nil { t.Log("ATTACK chmod: done") } else { t.Log("ATTACK chmod: refused") }
                    \tif os.Remove(lib) == nil { t.Log("ATTACK remove: done") } else { t.Log("ATTACK remove: refused") }
                    }

                    """
            ], message: "attack the library")
        try lw.world.editConfig(
            "    import_path: ex.com/team/legacy-two\n", "    import_path: ex.com/team/legacy-two\n    test: true\n")
        #expect(try lw.world.gobay.run(["lib", "update", "corelib"]).status == 0)
        let original = try String(contentsOfFile: lw.world.corelib.path + "/greet/greet.go", encoding: .utf8)
        let file = lw.world.dataDir + "/envs/legacy/gopath/src/ex.com/team/corelib/greet/greet.go"
        var info = stat()
        #expect(lstat(file, &info) == 0 && info.st_nlink > 1, "the checkout's files are hard links")
        let result = try lw.world.gobay.run(["build", "legacy-two", "--json"])
        #expect(result.status == 0, "\(result.stderr.suffix(1500))")
        let log = try String(
            contentsOfFile: lw.world.dataDir + "/builds/\(try lw.world.decodeBuild(result.stdout).id)/log", encoding: .utf8)
        for attack in ["write", "chmod", "remove"] {
            #expect(log.contains("ATTACK \(attack): refused"), "\(attack): \(log)")
        }
        for env in ["legacy", "modern", "newest"] {
            let path = lw.world.dataDir + "/envs/\(env)/gopath/src/ex.com/team/corelib/greet/greet.go"
            #expect(try String(contentsOfFile: path, encoding: .utf8) == original, "\(env)")
        }
        let other = try lw.world.decodeBuild(try lw.world.gobay.run(["build", "gopath-new", "--json"]).stdout)
        #expect(try lw.output(of: other).contains("hello from corelib v1"))
    }
}

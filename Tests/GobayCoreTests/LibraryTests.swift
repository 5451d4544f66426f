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
        #expect(Set(dependents.map { "\($0.project)@\($0.environment ?? "")" }) == ["legacy-svc@legacy", "gopath-new@newest", "mod-svc@modern"])
        #expect(dependents.allSatisfy { $0.source == "build" && $0.commit == v3 })
        // And through the API's record too.
        let listed = try JSONDecoder().decode([BuildRecord].self, from: Data(try gobay.run(["builds", "--json"]).stdout.utf8))
        #expect(listed.first?.libraries == ["corelib": v3])
    }
}

import Foundation
import GRDB
import GobayTesting
import Testing

@testable import GobayCore

/// What libraries add to the config, go.mod reading and the history, without git or Go.
@Suite("libraries: config, go.mod requirements, pins and dependents in the history")
struct LibraryRecordTests {
    @Test func configReadsEveryLibraryKey() throws {
        let config = try ConfigLoader.parse(
            """
            environments:
              legacy: { go: "1.19" }
              modern: { go: "1.22" }
              newest: { go: "1.27" }
            libraries:
              common:
                repo: git@gitlab.example.com:infra/common.git
                import_path: gitlab.example.com/infra/common
                branch: master
                environments: [legacy, modern]
                pin: { legacy: 4F2C9E1 }
                track: false
                rebuild: none
              other:
                repo: https://gitlab.example.com/infra/other.git
                import_path: gitlab.example.com/infra/other
            """, path: "/etc/gobay/gobay.yml")
        let common = try config.library("common")
        #expect(common.environments == .named(["legacy", "modern"]))
        #expect(common.environmentNames(in: config) == ["legacy", "modern"])
        #expect(common.pins == ["legacy": "4f2c9e1"])
        #expect(!common.track && common.rebuild == .none && common.branch == "master")
        let other = try config.library("other")
        #expect(other.environments == .all && other.environmentNames(in: config) == ["legacy", "modern", "newest"])
        #expect(other.track && other.rebuild == .dependents && other.branch == nil && other.pins.isEmpty)
        #expect(other.covers("gitlab.example.com/infra/other/x") && !other.covers("gitlab.example.com/infra/otherwise"))
        #expect(throws: GobayError.self) { try config.library("nope") }
    }

    @Test func goModRequirementsAndReplacesInLinesAndBlocks() {
        let mod = GoMod(
            """
            module ex.com/svc

            go 1.22
            toolchain go1.22.10

            require ex.com/one v1.2.3 // indirect
            require (
            \tex.com/two v0.0.0-20240101000000-abcdefabcdef
            \tex.com/three v3.0.0
            )
            replace ex.com/one => ../one
            replace (
            \tex.com/three v3.0.0 => ex.com/fork v3.0.1
            )
            """)
        #expect(mod.requirements == ["ex.com/one": "v1.2.3", "ex.com/two": "v0.0.0-20240101000000-abcdefabcdef", "ex.com/three": "v3.0.0"])
        #expect(mod.replaced == ["ex.com/one", "ex.com/three"])
        #expect(mod.hasRequirements && mod.go == GoVersion("1.22") && mod.required == GoVersion("1.22.10"))
        #expect(!GoMod("module ex.com/x\n\ngo 1.21\n").hasRequirements)
    }

    @Test func pinsAreSetReplacedAndReleased() throws {
        let database = try AppDatabase(DatabaseQueue())
        try database.setLibraryPin("common", environment: "legacy", commit: String(repeating: "a", count: 40))
        try database.setLibraryPin("common", environment: "legacy", commit: String(repeating: "b", count: 40))
        try database.setLibraryPin("common", environment: "modern", commit: String(repeating: "c", count: 40))
        #expect(try database.libraryPins().map { "\($0.environment)=\($0.commit.prefix(1))" } == ["legacy=b", "modern=c"])
        #expect(try database.removeLibraryPin("common", environment: "legacy"))
        #expect(try !database.removeLibraryPin("common", environment: "legacy"))
        #expect(try database.libraryPins().map(\.environment) == ["modern"])
    }

    /// Dependents come from each project's newest successful build that recorded its libraries,
    /// found through the partial index, never by reading the history.
    @Test func latestLibraryUseTakesEachProjectsNewestSuccessfulBuild() async throws {
        let database = try AppDatabase(DatabaseQueue())
        func build(_ project: String, _ status: BuildStatus, _ libraries: [String: String]?) async throws -> Int64 {
            let id = try await database.enqueue(
                AppDatabase.Enqueue(
                    project: project, ref: "main", commit: nil, environment: nil, trigger: .library, coalesce: false,
                    notBefore: nil, cause: LibraryCause(library: "common", commit: "abc"))
            ).id
            if let libraries { try database.setLibraries(id, libraries) }
            try await database.finish(id, status: status, error: nil)
            return id
        }
        _ = try await build("api", .succeeded, ["common": "old"])
        let apiNewest = try await build("api", .succeeded, ["common": "new"])
        _ = try await build("api", .failed, ["common": "newer"])
        _ = try await build("api", .succeeded, nil)
        let web = try await build("web", .succeeded, [:])
        _ = try await build("cli", .failed, ["common": "x"])
        let uses = try await database.latestLibraryUse(projects: ["api", "cli", "web", "gone"])
        #expect(uses.map(\.project) == ["api", "web"])
        #expect(uses[0].build == apiNewest && uses[0].libraries == ["common": "new"])
        #expect(uses[1].build == web && uses[1].libraries.isEmpty)
        let record = try #require(try await database.build(apiNewest))
        #expect(record.cause == LibraryCause(library: "common", commit: "abc") && record.trigger == .library)
        let plan = try await database.writer.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + AppDatabase.latestLibraryUseSQL, arguments: ["api"])
                .map { $0["detail"] as String? ?? "" }
        }
        #expect(plan == ["SEARCH build USING INDEX build_library_use (project=?)"], "\(plan)")
    }

    /// A library push is trusted with the library's own secret, else the global one, or
    /// unverified with `webhook_secret: none`; a project's secret never moves a library.
    @Test func libraryPushesAreTrustedByTheirOwnSecretOrTheGlobalOne() throws {
        let config = try ConfigLoader.parse(
            """
            environments: { go122: { go: "1.22" } }
            server: { webhook_secret: global }
            projects:
              api: { repo: /srv/git/api.git, environment: go122, webhook_secret: project }
            libraries:
              own: { repo: /srv/git/own.git, import_path: ex.com/own, webhook_secret: own-secret }
              plain: { repo: /srv/git/plain.git, import_path: ex.com/plain }
              open: { repo: /srv/git/open.git, import_path: ex.com/open, webhook_secret: none }
            """, path: "/etc/gobay/gobay.yml")
        let trust = try WebhookTrust(config: config, environment: [:])
        func allowed(_ token: String) -> [String] {
            trust.trusted(
                sender: .gitlab, headers: ["x-gitlab-token": token], body: Data("{}".utf8), libraries: config.libraries
            ).map(\.name)
        }
        #expect(allowed("own-secret") == ["own", "open"])
        #expect(allowed("global") == ["plain", "open"])
        #expect(allowed("project") == ["open"])
        #expect(trust.values.contains("own-secret"))
    }

    /// A mirror's fetch inherits the mirror's lock: when the gobay that took it dies, the lock
    /// stays held until the fetch it left running ends, so the next fetch never races it.
    @Test func aChildHoldingALockKeepsItAfterItsParentLetsGo() throws {
        let sandbox = try TestSandbox("lock-inherit")
        let path = sandbox.path + "/mirror.lock"
        var holder: FileLock? = try FileLock(path: path)
        holder?.lockExclusive()
        var spec = ProcessSpec(["sleep", "600"], environment: ["PATH": "/usr/bin:/bin"])
        spec.descriptors = [holder?.descriptor ?? -1]
        let child = try ChildProcess(spec, stdoutPath: sandbox.path + "/out", stderrPath: sandbox.path + "/err")
        holder = nil  // the parent's descriptor closes, as when gobay is killed
        let next = try FileLock(path: path)
        #expect(!next.tryLockExclusive(), "the lock was free while the child still ran")
        child.signal(SIGKILL)
        _ = child.wait()
        #expect(next.tryLockExclusive(), "the lock outlived the child")
    }
}

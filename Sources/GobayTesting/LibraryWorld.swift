import Foundation
import GobayCore

/// A BuildWorld whose shared library `corelib` has dependents in three environments:
/// - `legacy-svc`: GOPATH mode on Go 1.19 (environment legacy);
/// - `gopath-new`: GOPATH mode on the newest Go, GO111MODULE=off (environment newest);
/// - `mod-svc`: module mode on Go 1.22 (environment modern), whose go.mod requires corelib's
///   module path, so it builds against modern's checkout (`track: true`);
/// - `legacy-two`: a second GOPATH project on Go 1.19.
/// Each prints the library text it was compiled with.
public final class LibraryWorld: Sendable {
    /// The world.
    public let world: BuildWorld
    /// The GOPATH project on the newest Go.
    public let gopathNew: GitFixture
    /// The module project.
    public let modSvc: GitFixture
    /// The second GOPATH project on Go 1.19.
    public let legacyTwo: GitFixture

    /// The dependents and the environment each builds in.
    public static let dependents = [
        ("legacy-svc", "legacy"), ("gopath-new", "newest"), ("mod-svc", "modern"), ("legacy-two", "legacy"),
    ]

    /// Makes the world; `librarySettings` is YAML added under `libraries.corelib`,
    /// `environmentSettings` under every environment (e.g. an executor). With
    /// `slowTests`, every dependent runs `go test` first, whose test sleeps `slowTests` seconds:
    /// a build then compiles twice, a while apart, both under the GOPATH read lock.
    public init(
        label: String, librarySettings: String = "", slowTests: Int? = nil, environmentSettings: String = ""
    ) throws {
        let testSetting = slowTests == nil ? [] : ["    test: true"]
        let sandbox = try TestSandbox(label + "-repos")
        gopathNew = try GitFixture(
            path: sandbox.path + "/repos-gopath-new", branch: "master",
            files: ["main.go": GoSources.versionPrinter(extraImport: "ex.com/team/corelib/greet", call: "greet.Hello()")])
        legacyTwo = try GitFixture(
            path: sandbox.path + "/repos-legacy-two", branch: "master",
            files: ["main.go": GoSources.versionPrinter(extraImport: "ex.com/team/corelib/greet", call: "greet.Hello()")])
        modSvc = try GitFixture(
            path: sandbox.path + "/mod-svc", branch: "main",
            files: [
                "go.mod": "module ex.com/team/mod-svc\n\ngo 1.22\n\nrequire ex.com/team/corelib v0.0.0-00010101000000-000000000000\n",
                "main.go": GoSources.versionPrinter(extraImport: "ex.com/team/corelib/greet", call: "greet.Hello()"),
            ])
        world = try BuildWorld(
            label: label,
            extraProjects: ([
                "  gopath-new:", "    repo: \(gopathNew.path)", "    branch: master", "    environment: newest",
                "    mode: gopath", "    import_path: ex.com/team/gopath-new",
            ] + testSetting + [
                "  mod-svc:", "    repo: \(modSvc.path)", "    branch: main", "    environment: modern",
            ] + testSetting + [
                "  legacy-two:", "    repo: \(legacyTwo.path)", "    branch: master", "    environment: legacy",
                "    mode: gopath", "    import_path: ex.com/team/legacy-two",
            ] + testSetting).joined(separator: "\n"), legacySettings: testSetting.joined(separator: "\n"),
            environmentSettings: environmentSettings)
        if !librarySettings.isEmpty {
            try world.editConfig("    import_path: ex.com/team/corelib\n", "    import_path: ex.com/team/corelib\n" + librarySettings)
        }
        keep = sandbox
        if let seconds = slowTests {
            for repo in [world.legacy, gopathNew, modSvc, legacyTwo] {
                try repo.commit(["slow_test.go": GoSources.sleepingTest(seconds: seconds)], message: "slow test")
            }
        }
    }

    private let keep: TestSandbox

    /// Commits a new greet.go whose Hello returns `text`; returns the commit.
    @discardableResult
    public func pushLibrary(_ text: String, extra: [String: String] = [:]) throws -> String {
        var files = extra
        files["greet/greet.go"] = "package greet\n\nfunc Hello() string { return \"\(text)\" }\n"
        return try world.corelib.commit(files, message: text)
    }

    /// `gobay lib status --json`, decoded.
    public func status() throws -> [LibraryReport.Row] {
        let result = try world.gobay.run(["lib", "status", "--json"])
        guard result.status == 0 else { throw GobayError.failure("lib status: \(result.stderr)") }
        return try JSONDecoder().decode([LibraryReport.Row].self, from: Data(result.stdout.utf8))
    }

    /// The output of the newest successful build of `project`'s binary.
    public func output(of record: BuildRecord) throws -> String {
        guard let artifact = record.artifacts.first else { throw GobayError.failure("build #\(record.id) has no artifact") }
        return try world.runBinary(artifact.path)
    }
}

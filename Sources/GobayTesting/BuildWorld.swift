import Foundation
import GobayCore

/// A complete gobay setup for build tests: real git repos of real Go programs, three
/// environments on three real Go versions sharing warm build caches, and a gobay.yml.
public final class BuildWorld: Sendable {
    /// Holds everything; removed with the world.
    public let sandbox: TestSandbox
    /// The shared library repo (GOPATH import ex.com/team/corelib).
    public let corelib: GitFixture
    /// A GOPATH-mode program importing corelib/greet.
    public let legacy: GitFixture
    /// A module program whose go.mod says go 1.22 and uses range-over-int.
    public let modern: GitFixture
    /// A module program that needs the newest Go.
    public let newest: GitFixture
    /// The gobay.yml path.
    public let configPath: String
    /// The exact Go versions of the legacy, modern and newest environments.
    public let versions: (legacy: String, modern: String, newest: String)
    /// The gobay binary, pointed at this world's config.
    public let gobay: GobayBinary

    /// Builds the world; `extraProjects` and `projectSettings` are YAML appended to projects.
    public init(
        label: String = "world", extraProjects: String = "", legacySettings: String = "", environmentSettings: String = ""
    ) throws {
        sandbox = try TestSandbox(label)
        let root = sandbox.path
        let newestVersion = try TestToolchains.version(TestToolchains.goNew)
        let newestMinor = newestVersion.split(separator: ".").prefix(2).joined(separator: ".")
        versions = (
            try TestToolchains.version(TestToolchains.go119), try TestToolchains.version(TestToolchains.go122),
            newestVersion
        )
        corelib = try GitFixture(
            path: root + "/repos/corelib", branch: "master",
            files: ["greet/greet.go": "package greet\n\nfunc Hello() string { return \"hello from corelib v1\" }\n"])
        legacy = try GitFixture(
            path: root + "/repos/legacy-svc", branch: "master",
            files: [
                "main.go": GoSources.versionPrinter(
                    extraImport: "ex.com/team/corelib/greet", call: "greet.Hello(), version")
            ])
        modern = try GitFixture(
            path: root + "/repos/modern-svc", branch: "main",
            files: [
                "go.mod": "module ex.com/team/modern-svc\n\ngo 1.22\n",
                "main.go": GoSources.versionPrinter(body: "\tfor i := range 3 {\n\t\t_ = i\n\t}\n"),
            ])
        newest = try GitFixture(
            path: root + "/repos/newest-svc", branch: "main",
            files: [
                "go.mod": "module ex.com/team/newest-svc\n\ngo \(newestMinor)\n",
                "main.go": GoSources.versionPrinter(),
            ])
        configPath = root + "/gobay.yml"
        let yaml = """
            data_dir: data
            environments:
              legacy:
                go: "1.19"
                goroot: \(TestToolchains.go119)
                gocache: \(try TestToolchains.sharedGocache(TestToolchains.go119))
            \(environmentSettings)
              modern:
                go: "1.22"
                goroot: \(TestToolchains.go122)
                gocache: \(try TestToolchains.sharedGocache(TestToolchains.go122))
            \(environmentSettings)
              newest:
                go: "\(newestMinor)"
                goroot: \(TestToolchains.goNew)
                gocache: \(try TestToolchains.sharedGocache(TestToolchains.goNew))
            \(environmentSettings)
            projects:
              legacy-svc:
                repo: repos/legacy-svc
                branch: master
                environment: legacy
                mode: gopath
                import_path: ex.com/team/legacy-svc
                ldflags: "-X main.version={short_commit}"
            \(legacySettings)
              modern-svc:
                repo: repos/modern-svc
                branch: main
              newest-svc:
                repo: repos/newest-svc
            \(extraProjects)
            libraries:
              corelib:
                repo: repos/corelib
                branch: master
                import_path: ex.com/team/corelib

            """
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        gobay = try GobayBinary(config: configPath)
    }

    /// Appends YAML (e.g. a `server:` section) to the config.
    public func appendConfig(_ yaml: String) throws {
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        try (text + yaml + "\n").write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Replaces text in the config, failing when it is not there.
    public func editConfig(_ old: String, _ new: String) throws {
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        guard text.contains(old) else { throw GobayError.failure("config has no \(old.debugDescription)") }
        try text.replacingOccurrences(of: old, with: new).write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Starts `gobay serve` on this world's config.
    public func startServer(environment: [String: String] = [:]) throws -> ServerHarness {
        try ServerHarness(gobay: gobay, logDir: sandbox.path, environment: environment)
    }

    /// The base image docker environments use in tests (made offline by scripts/install-deps).
    public static var dockerImage: String {
        ProcessInfo.processInfo.environment["GOBAY_TEST_DOCKER_IMAGE"] ?? "gobay-base:bookworm"
    }

    /// Environment settings for an executor kind, for `environmentSettings:`.
    public static func executorSettings(_ kind: String) -> String {
        switch kind {
        case "docker": return "    executor: docker\n    image: \(dockerImage)\n    toolchain: mount"
        case "sandbox": return "    executor: sandbox"
        default: return ""
        }
    }

    /// Processes whose working directory is inside this world's data dir: anything a build left
    /// running (work dirs keep their host path inside a sandbox; containers are checked with
    /// `docker top`). Paths like /go are not matched: they belong to every world at once.
    public func leftoverProcesses() -> [String] {
        let root = (sandbox.path as NSString).resolvingSymlinksInPath
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid -> String? in
            guard Int32(pid) != nil,
                let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd"),
                cwd.hasPrefix(root + "/data")
            else { return nil }
            return "\(pid) \(cwd)"
        }
    }

    /// `<root>/data`.
    public var dataDir: String { sandbox.path + "/data" }

    /// The name of environment `env`'s docker container for this world's data dir.
    public func container(_ env: String) -> String { DockerExecutor.containerName(environment: env, dataDir: dataDir) }

    /// Runs a built binary and returns its trimmed output.
    public func runBinary(_ path: String) throws -> String {
        let result = try ProcessRunner.capture(
            ProcessSpec([path], environment: ["PATH": "/usr/bin:/bin"]), deadline: Date().addingTimeInterval(30))
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Decodes `gobay build --json` output.
    public func decodeBuild(_ json: String) throws -> BuildRecord {
        try JSONDecoder().decode(BuildRecord.self, from: Data(json.utf8))
    }
}

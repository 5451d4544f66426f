import ArgumentParser
import Foundation
import GobayCore

extension GobayCLI {
    /// `gobay build PROJECT`: fetch, get dependencies, test, build and store artifacts.
    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Build a project in its Go environment.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The project to build.") var project: String
        @Option(help: "A branch, tag or full ref (default: the project's branch).") var ref: String?
        @Option(help: "A commit id to build.") var commit: String?
        @Option(name: .customLong("env"), help: "Build in this environment instead of the project's.") var environment: String?
        @Flag(help: "Print the build record as JSON (the log goes to stderr).") var json = false
        @Option(help: "A gobay server to send the build to (default: $GOBAY_SERVER).") var server: String?
        @Flag(help: "With a server: stream the log until the build ends; exit with its result.") var follow = false

        func run() throws {
            if let server = RemoteClient.server(server) { return try runRemote(server) }
            let config = try options.load()
            // Validate everything before writing anything: a bad request leaves no build behind.
            let plan = try BuildPlan.make(
                BuildRequest(project: project, ref: ref, commit: commit, environment: environment), config: config,
                store: ToolchainStore(dataDir: config.dataDir))
            let database = try AppDatabase(dataDir: config.dataDir)
            try BuildRunner.reapInterrupted(database: database, dataDir: config.dataDir)
            let json = self.json
            let runner = BuildRunner(config: config, database: database) { line in
                if json { Terminal.error(line) } else { Terminal.out(line) }
            }
            let id = try runner.enqueue(plan)
            // Ctrl-C, SIGTERM or SIGHUP cancel the build's task: its processes are killed and the
            // build ends `canceled`.
            let record = try SignalCancellation.runBlocking { try await runner.run(plan, id: id) }
            if json { try Terminal.printJSON(record) }
            if record.status != .succeeded { throw ExitCode(1) }
        }

        /// Queues the build on `server`, then prints its id or, with `--follow`, streams its log.
        private func runRemote(_ server: String) throws {
            var body: [String: String] = [:]
            if let ref { body["ref"] = ref }
            if let commit { body["commit"] = commit }
            if let environment { body["environment"] = environment }
            let name = project.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? project
            let (json, follow) = (self.json, self.follow)
            try RemoteClient.run(server: server) { [body] remote in
                let data = try await remote.request(.POST, "/api/v1/projects/\(name)/builds", json: body)
                let record = try JSONDecoder().decode(BuildRecord.self, from: data)
                Terminal.error("queued build #\(record.id) of \(record.project) (\(record.ref)) on \(remote.base)")
                guard follow else {
                    if json { try Terminal.printJSON(record) } else { Terminal.out("\(record.id)") }
                    return
                }
                let status = try await remote.follow(record.id) { line in
                    if json { Terminal.error(line) } else { Terminal.out(line) }
                }
                if json {
                    let final = try await remote.request(.GET, "/api/v1/builds/\(record.id)")
                    FileHandle.standardOutput.write(final + Data("\n".utf8))
                }
                if status != BuildStatus.succeeded.rawValue { throw ExitCode(1) }
            }
        }
    }

    /// `gobay builds`: the build history.
    struct Builds: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List builds, newest first.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "Only this project's builds.") var project: String?
        @Option(help: "How many.") var limit: Int = 20
        @Flag(help: "Print JSON.") var json = false
        @Option(help: "A gobay server to ask (default: $GOBAY_SERVER).") var server: String?

        func run() throws {
            let builds: [BuildRecord]
            if let server = RemoteClient.server(server) {
                var path = "/api/v1/builds?limit=\(limit)"
                if let project { path += "&project=" + (project.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? project) }
                let data = try RemoteClient.run(server: server) { [path] in try await $0.request(.GET, path) }
                builds = try JSONDecoder().decode([BuildRecord].self, from: data)
            } else {
                builds = try localBuilds()
            }
            if json { return try Terminal.printJSON(builds) }
            let rows = builds.map { b in
                [
                    "#\(b.id)", b.project, b.environment ?? "", b.goVersion ?? "", b.status.rawValue, String(b.commit.prefix(12)), b.ref,
                    b.duration.map { String(format: "%.1fs", $0) } ?? "-", Timestamp.string(b.createdAt),
                ]
            }
            print(Terminal.table([["ID", "PROJECT", "ENV", "GO", "STATUS", "COMMIT", "REF", "TIME", "CREATED"]] + rows))
        }

        private func localBuilds() throws -> [BuildRecord] {
            let config = try options.load()
            if let project { _ = try config.project(project) }
            let database = try AppDatabase(dataDir: config.dataDir)
            try BuildRunner.reapInterrupted(database: database, dataDir: config.dataDir)
            return try database.builds(project: project, limit: limit)
        }
    }

    /// `gobay log BUILD`: a build's log.
    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a build's log.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The build id.") var build: Int64
        @Flag(name: [.customShort("f"), .long], help: "With a server: follow the log until the build ends.") var follow = false
        @Option(help: "A gobay server to ask (default: $GOBAY_SERVER).") var server: String?

        func run() throws {
            if let server = RemoteClient.server(server) {
                let (build, follow) = (self.build, self.follow)
                try RemoteClient.run(server: server) { remote in
                    guard follow else {
                        return try await remote.stream("/api/v1/builds/\(build)/log", to: FileHandle.standardOutput)
                    }
                    let status = try await remote.follow(build) { Terminal.out($0) }
                    Terminal.error("build #\(build) \(status)")
                    if status != BuildStatus.succeeded.rawValue { throw ExitCode(1) }
                }
                return
            }
            let config = try options.load()
            _ = try BuildLookup.find(build, config: config)
            let path = config.data.build(build).log
            guard let data = FileManager.default.contents(atPath: path) else {
                throw GobayError.failure("build #\(build) has no log at \(path)")
            }
            FileHandle.standardOutput.write(data)
        }
    }

    /// `gobay artifacts BUILD`: a build's binaries.
    struct Artifacts: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a build's artifacts.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The build id.") var build: Int64
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let config = try options.load()
            let record = try BuildLookup.find(build, config: config)
            if json { return try Terminal.printJSON(record.artifacts) }
            if record.artifacts.isEmpty { print("build #\(build) (\(record.status.rawValue)) has no artifacts") }
            print(Terminal.table(record.artifacts.map { [$0.name, "\($0.goos)/\($0.goarch)", "\($0.size)", $0.sha256, $0.path] }))
        }
    }
}

extension GobayCLI {
    /// `gobay cancel BUILD`: stop a build.
    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a queued or running build.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The build id.") var build: Int64
        @Option(help: "A gobay server to ask (default: $GOBAY_SERVER).") var server: String?

        func run() throws {
            if let server = RemoteClient.server(server) {
                let build = self.build
                _ = try RemoteClient.run(server: server) { try await $0.request(.POST, "/api/v1/builds/\(build)/cancel") }
                Terminal.out("cancel requested for build #\(build)")
                return
            }
            let config = try options.load()
            let record = try BuildLookup.find(build, config: config)
            guard !record.status.isFinal else {
                throw GobayError("build #\(build) already ended \(record.status.rawValue)")
            }
            guard try AppDatabase(dataDir: config.dataDir).cancelQueued(build) else {
                throw GobayError(
                    "build #\(build) is running in another process",
                    hint: "cancel it through its server (--server URL), or press Ctrl-C in its `gobay build`")
            }
            Terminal.out("canceled build #\(build)")
        }
    }
}

/// Finds builds by id for the commands that take one.
enum BuildLookup {
    static func find(_ id: Int64, config: GobayConfig) throws -> BuildRecord {
        let database = try AppDatabase(dataDir: config.dataDir)
        guard let record = try database.build(id) else {
            throw GobayError("no build #\(id)", hint: "`gobay builds` lists the builds")
        }
        return record
    }
}


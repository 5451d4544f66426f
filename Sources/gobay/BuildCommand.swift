import ArgumentParser
import Foundation
import GobayCore

extension GobayCLI {
    /// `gobay build PROJECT`: fetch, get dependencies, test, build and store artifacts.
    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "build", abstract: "Build a project in its Go environment.")
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
            // Only this project of the config is read: the build needs no other (`config check`
            // and the server validate them all).
            let config = try options.load(onlyProject: project)
            // Validate everything before writing anything: a bad request leaves no build behind.
            let json = self.json
            let plan = try BuildPlan.make(
                BuildRequest(project: project, ref: ref, commit: commit, environment: environment), config: config,
                store: ToolchainStore(dataDir: config.dataDir)
            ) { fetching in
                // As the build log's lines look; the log itself starts once the commit is known.
                let line = BuildLog.line("fetch", fetching)
                if json { Terminal.error(line) } else { Terminal.out(line) }
            }
            let database = try AppDatabase(dataDir: config.dataDir, oneConnection: true)
            try BuildRunner.reapInterrupted(database: database, dataDir: config.dataDir)
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
}

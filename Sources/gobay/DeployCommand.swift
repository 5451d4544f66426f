import ArgumentParser
import Foundation
import GobayCore

extension GobayCLI {
    /// `gobay deploy BUILD|PROJECT`: upload, switch, restart, check health, roll back.
    struct Deploy: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "deploy",
            abstract: "Deploy a build (or a project's newest successful build) to its targets.",
            discussion: "Exit 0 when deployed, 1 when it failed or rolled back, 2 on usage errors.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "A build id, or a project (its newest successful build).") var what: String
        @Option(name: .customLong("target"), help: "Only this target (repeatable).") var targets: [String] = []
        @Flag(help: "Print the deployment record as JSON (the log goes to stderr).") var json = false
        @Option(help: "A gobay server to deploy through (default: $GOBAY_SERVER); its log is followed.") var server: String?

        func run() throws {
            if let server = RemoteClient.server(server) {
                return try RemoteDeploy(what: what, targets: targets, json: json).run(server: server)
            }
            let config = try options.load()
            let database = try AppDatabase(dataDir: config.dataDir)
            let (project, build) = try DeployLookup.resolve(what, config: config, database: database)
            try DeployRun(config: config, database: database, json: json)
                .run(project: project, build: build, targets: targets.isEmpty ? nil : targets, trigger: "cli")
        }
    }

    /// `gobay rollback PROJECT --target T [--to BUILD]`.
    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollback",
            abstract: "Put a target back on its previous release (or --to a build), restart it and check its health.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The project.") var project: String
        @Option(name: .customLong("target"), help: "The target.") var target: String
        @Option(help: "The build to go back to (default: the release before the current one).") var to: Int64?
        @Flag(help: "Print the deployment record as JSON.") var json = false

        func run() throws {
            let config = try options.load()
            let database = try AppDatabase(dataDir: config.dataDir)
            _ = try config.project(project).deploySection().target(target, project: project)
            let build: Int64
            if let to {
                build = to
            } else {
                let current = try database.currentReleases(project: project)[target]
                guard let current,
                    let previous = try database.deployments(project: project, limit: 500)
                        .flatMap({ d in d.targets.filter { $0.target == target && $0.status == .succeeded }.map(\.newRelease) })
                        .first(where: { $0 != current })
                else {
                    throw GobayError(
                        "target \(target) of \(project) has no earlier release to go back to",
                        hint: "name one with --to BUILD", kind: .unprocessable)
                }
                build = previous
            }
            try DeployRun(config: config, database: database, json: json)
                .run(project: project, build: build, targets: [target], trigger: "rollback")
        }
    }

    /// `gobay deployments [--project P]`.
    struct Deployments: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "deployments", abstract: "List deployments, newest first.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "Only this project.") var project: String?
        @Option(help: "At most this many.") var limit = 50
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let config = try options.load()
            if let project { _ = try config.project(project) }
            let records = try AppDatabase(dataDir: config.dataDir).deployments(project: project, limit: limit)
            if json { return try Terminal.printJSON(records) }
            let rows = records.map { d in
                [
                    "#\(d.id)", d.project, "#\(d.build)", d.strategy.rawValue, d.status.rawValue,
                    d.targets.map { "\($0.target)=\($0.status.rawValue)" }.joined(separator: " "), d.trigger,
                    Timestamp.string(d.createdAt),
                ]
            }
            print(Terminal.table([["ID", "PROJECT", "BUILD", "STRATEGY", "STATUS", "TARGETS", "TRIGGER", "CREATED"]] + rows))
        }
    }

    /// `gobay deploy-log ID [-f]`.
    struct DeployLog: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "deploy-log", abstract: "Print a deployment's log.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The deployment id.") var id: Int64
        @Flag(name: [.customShort("f"), .long], help: "Follow the log until the deployment ends; exit 1 unless it succeeded.")
        var follow = false

        func run() throws {
            let config = try options.load()
            let database = try AppDatabase(dataDir: config.dataDir)
            guard try database.deployment(id) != nil else {
                throw GobayError("deployment #\(id) does not exist", hint: "`gobay deployments` lists them", kind: .notFound)
            }
            let path = config.data.deploymentLog(id)
            guard follow else {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw GobayError.failure("deployment #\(id) has no log at \(path)")
                }
                return FileHandle.standardOutput.write(data)
            }
            let id = self.id
            let status = try SignalCancellation.runBlocking {
                try await DeployLogFollower(database: database, id: id, path: path).run()
            }
            Terminal.error("deployment #\(id) \(status.rawValue)")
            if status != .succeeded { throw ExitCode(1) }
        }
    }
}

/// `gobay deploy`'s argument: a build id or a project name.
enum DeployLookup {
    static func resolve(_ what: String, config: GobayConfig, database: AppDatabase) throws -> (String, Int64?) {
        if let id = Int64(what.hasPrefix("#") ? String(what.dropFirst()) : what) {
            guard let build = try database.build(id) else {
                throw GobayError("build #\(id) does not exist", hint: "`gobay builds` lists them", kind: .notFound)
            }
            return (build.project, id)
        }
        _ = try config.project(what)
        return (what, nil)
    }
}

/// Plans and runs one deployment in this process, printing its log live.
struct DeployRun {
    let config: GobayConfig
    let database: AppDatabase
    let json: Bool

    func run(project: String, build: Int64?, targets: [String]?, trigger: String) throws {
        try Deployer.reapInterrupted(database: database, dataDir: config.dataDir)
        let json = self.json
        let deployer = Deployer(config: config, database: database) { line in
            if json { Terminal.error(line) } else { Terminal.out(line) }
        }
        let plan = try deployer.plan(project: project, build: build, targets: targets)
        let record = try SignalCancellation.runBlocking { try await deployer.run(plan, trigger: trigger) }
        if json { try Terminal.printJSON(record) }
        if record.status != .succeeded { throw ExitCode(1) }
    }
}

/// Prints a deployment's log as it grows, woken by inotify (the log's close at the end, and every
/// write), until the deployment has ended.
struct DeployLogFollower {
    let database: AppDatabase
    let id: Int64
    let path: String

    func run() async throws -> DeployStatus {
        let directory = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let watcher = BuildDirectoryWatcher()
        let subscription = watcher?.subscribe(directory)
        defer { subscription?.cancel() }
        var offset: UInt64 = 0
        while true {
            let seen = subscription?.changes ?? 0
            // The status before the file: no line written before the end is missed.
            let status = try database.deployment(id)?.status ?? .failed
            if let handle = FileHandle(forReadingAtPath: path) {
                try handle.seek(toOffset: offset)
                let data = try handle.readToEnd() ?? Data()
                try? handle.close()
                offset += UInt64(data.count)
                FileHandle.standardOutput.write(data)
            }
            if status.isFinal { return status }
            // A deployment still queued on a server may have no directory to watch yet.
            if let subscription, FileManager.default.fileExists(atPath: (path as NSString).deletingLastPathComponent) {
                await subscription.wait(after: seen, queued: status == .queued)
            } else {
                try await Task.sleep(for: .milliseconds(200))
            }
            try Task.checkCancellation()
        }
    }
}

/// `gobay deploy --server`: queues the deployment on the server, follows its log, and exits as
/// the local command does.
struct RemoteDeploy {
    let what: String
    let targets: [String]
    let json: Bool

    func run(server: String) throws {
        let (what, targets, json) = (self.what, self.targets, self.json)
        try RemoteClient.run(server: server) { remote in
            var project = what
            var body: [String: Any] = [:]
            if let id = Int64(what.hasPrefix("#") ? String(what.dropFirst()) : what) {
                let build = try JSONDecoder().decode(BuildRecord.self, from: try await remote.request(.GET, "/api/v1/builds/\(id)"))
                project = build.project
                body["build"] = id
            }
            if !targets.isEmpty { body["targets"] = targets }
            let name = project.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? project
            let queued = try JSONDecoder().decode(
                DeploymentRecord.self,
                from: try await remote.request(
                    .POST, "/api/v1/projects/\(name)/deployments", body: try JSONSerialization.data(withJSONObject: body)))
            Terminal.error("queued deployment #\(queued.id) of \(queued.project) build #\(queued.build) on \(remote.base)")
            let status = try await remote.follow(
                "/api/v1/deployments/\(queued.id)/log?follow=1", what: "deployment #\(queued.id)",
                again: "gobay deploy-log -f \(queued.id)"
            ) { line in
                if json { Terminal.error(line) } else { Terminal.out(line) }
            }
            if json {
                let final = try await remote.request(.GET, "/api/v1/deployments/\(queued.id)")
                FileHandle.standardOutput.write(final + Data("\n".utf8))
            }
            if status != DeployStatus.succeeded.rawValue { throw ExitCode(1) }
        }
    }
}

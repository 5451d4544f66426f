import ArgumentParser
import Foundation
import GobayCore

extension GobayCLI {
    /// `gobay lib ...`: shared private libraries in every environment.
    struct LibCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lib", abstract: "Keep shared libraries current in every environment.",
            subcommands: [Update.self, Status.self, Dependents.self, Pin.self, Unpin.self])

        struct Update: ParsableCommand {
            static let configuration = CommandConfiguration(
            commandName: "update",
                abstract: "Fetch a library and update its checkout in every environment (or --env) at once.")
            @OptionGroup var options: ConfigOptions
            @Argument(help: "The library.") var name: String
            @Option(name: .customLong("env"), help: "Only this environment (repeatable).") var environments: [String] = []
            @Flag(help: "Then rebuild every project that imports the library, each in its own environment.")
            var rebuild = false
            @Flag(help: "Print JSON.") var json = false

            func run() throws {
                let config = try options.load()
                let lib = try config.library(name)
                let database = try AppDatabase(dataDir: config.dataDir)
                let updater = LibraryUpdater(config: config, database: database)
                let only = environments.isEmpty ? nil : environments
                // Checked before anything is fetched: an unknown environment changes nothing.
                _ = try updater.environments(of: lib, only: only)
                let dependents = rebuild ? try LibraryReport(config: config, database: database).dependents(of: name) : []
                let json = self.json
                let changes = try SignalCancellation.runBlocking {
                    try await updater.update(lib, environments: only) { line in Terminal.error(line) }
                }
                var builds: [BuildRecord] = []
                if rebuild {
                    let head = changes.first { $0.pin == nil }?.to ?? changes.first?.to ?? ""
                    builds = try LibRebuild(config: config, database: database, json: json)
                        .run(dependents, cause: LibraryCause(library: lib.name, commit: head), changes: changes)
                }
                if json {
                    struct Output: Encodable {
                        var library: String
                        var environments: [LibraryUpdater.Change]
                        var builds: [BuildRecord]?
                    }
                    try Terminal.printJSON(Output(library: lib.name, environments: changes, builds: rebuild ? builds : nil))
                } else {
                    let rows = changes.map { c in
                        [
                            c.environment, c.from.map { String($0.prefix(12)) } ?? "-", String(c.to.prefix(12)),
                            c.changed ? "updated" : "unchanged",
                            c.pin.map { "pinned (\($0.source)) \($0.commit)" } ?? "",
                        ]
                    }
                    print(Terminal.table([["ENVIRONMENT", "FROM", "TO", "", "PIN"]] + rows))
                    if rebuild {
                        if builds.isEmpty { print("no project imports \(lib.name); nothing to rebuild") }
                        for b in builds {
                            print("build #\(b.id) \(b.project) in \(b.environment ?? "-"): \(b.status.rawValue)"
                                + (b.libraries?[lib.name].map { " (\(lib.name) \($0.prefix(12)))" } ?? ""))
                        }
                    }
                }
                if builds.contains(where: { $0.status != .succeeded }) { throw ExitCode(1) }
            }
        }

        struct Status: ParsableCommand {
            static let configuration = CommandConfiguration(
            commandName: "status",
                abstract: "Show each library's commit in each environment, with its pin.")
            @OptionGroup var options: ConfigOptions
            @Argument(help: "Only this library.") var name: String?
            @Flag(help: "Print JSON.") var json = false

            func run() throws {
                let config = try options.load()
                let rows = try LibraryReport(config: config, database: try AppDatabase(dataDir: config.dataDir))
                    .status(library: name)
                if json { return try Terminal.printJSON(rows) }
                if rows.isEmpty { return print("no libraries configured (see libraries: in \(config.path))") }
                let table = rows.map { r in
                    [
                        r.library, r.environment, r.commit.map { String($0.prefix(12)) } ?? "missing",
                        r.commitDate ?? "-", r.updatedAt ?? "-",
                        r.pins.enumerated().map { i, p in
                            "\(p.commit.prefix(12)) (\(p.source == "config" ? "gobay.yml" : "gobay lib pin")\(i > 0 ? ", overridden" : ""))"
                        }.joined(separator: "; "),
                    ]
                }
                print(Terminal.table([["LIBRARY", "ENVIRONMENT", "COMMIT", "COMMIT DATE", "UPDATED", "PIN"]] + table))
            }
        }

        struct Dependents: ParsableCommand {
            static let configuration = CommandConfiguration(
            commandName: "dependents",
                abstract: "List the projects that import a library, in each environment.",
                discussion: "Learned from each project's last successful build (go list -deps), else from its go.mod.")
            @OptionGroup var options: ConfigOptions
            @Argument(help: "The library.") var name: String
            @Flag(help: "Print JSON.") var json = false

            func run() throws {
                let config = try options.load()
                let found = try LibraryReport(config: config, database: try AppDatabase(dataDir: config.dataDir))
                    .dependents(of: name)
                if json { return try Terminal.printJSON(found) }
                if found.isEmpty { return print("no project is known to import \(name)") }
                let rows = found.map { d in
                    [
                        d.project, d.environment ?? "(from go.mod)",
                        d.build.map { "build #\($0)" } ?? d.source, d.commit.map { String($0.prefix(12)) } ?? "-",
                    ]
                }
                print(Terminal.table([["PROJECT", "ENVIRONMENT", "KNOWN FROM", "LIBRARY COMMIT"]] + rows))
            }
        }

        struct Pin: ParsableCommand {
            static let configuration = CommandConfiguration(
            commandName: "pin",
                abstract: "Hold one environment at a known-good commit of a library, and place it now.")
            @OptionGroup var options: ConfigOptions
            @Argument(help: "The library.") var name: String
            @Argument(help: "The commit (full or abbreviated).") var commit: String
            @Option(name: .customLong("env"), help: "The environment to hold.") var environment: String

            func run() throws {
                let config = try options.load()
                let lib = try config.library(name)
                let database = try AppDatabase(dataDir: config.dataDir)
                let updater = LibraryUpdater(config: config, database: database)
                _ = try updater.environments(of: lib, only: [environment])
                let mirror = GitMirror(url: lib.repo, dataDir: config.dataDir)
                do {
                    try mirror.update()
                } catch let error as GobayError {
                    throw GobayError(
                        "library \"\(lib.name)\": \(SecretMask.urlPasswords(error.message))", hint: error.hint, kind: .upstream)
                }
                let full = try mirror.resolve(commit: commit)
                try database.setLibraryPin(lib.name, environment: environment, commit: full)
                let changes = try SignalCancellation.runBlocking {
                    try await updater.update(lib, environments: [environment]) { line in Terminal.error(line) }
                }
                print("pinned \(lib.name) in \(environment) to \(full)" + (changes.first?.changed == true ? " (placed)" : ""))
            }
        }

        struct Unpin: ParsableCommand {
            static let configuration = CommandConfiguration(
            commandName: "unpin",
                abstract: "Release a pin set with `gobay lib pin`; the environment follows the branch again.")
            @OptionGroup var options: ConfigOptions
            @Argument(help: "The library.") var name: String
            @Option(name: .customLong("env"), help: "The environment to release.") var environment: String

            func run() throws {
                let config = try options.load()
                let lib = try config.library(name)
                let database = try AppDatabase(dataDir: config.dataDir)
                let updater = LibraryUpdater(config: config, database: database)
                _ = try updater.environments(of: lib, only: [environment])
                guard try database.removeLibraryPin(lib.name, environment: environment) else {
                    if let pin = lib.pins[environment] {
                        throw GobayError(
                            "\(lib.name) is pinned to \(pin) in \(environment) by \(config.path), not by `gobay lib pin`",
                            hint: "remove libraries.\(lib.name).pin.\(environment) from \(config.path)", kind: .conflict)
                    }
                    throw GobayError(
                        "\(lib.name) is not pinned in \(environment)", hint: "`gobay lib status \(lib.name)` shows the pins",
                        kind: .notFound)
                }
                let changes = try SignalCancellation.runBlocking {
                    try await updater.update(lib, environments: [environment]) { line in Terminal.error(line) }
                }
                let now = changes.first.map { " (now at \($0.to.prefix(12)))" } ?? ""
                print("released the pin of \(lib.name) in \(environment)" + now)
            }
        }
    }
}

/// Runs one build of each dependent of a library in this process, all at once (each waits for
/// its environment's slots and its project's lock), with trigger `library`.
struct LibRebuild {
    let config: GobayConfig
    let database: AppDatabase
    let json: Bool

    func run(_ dependents: [LibraryReport.Dependent], cause: LibraryCause, changes: [LibraryUpdater.Change]) throws
        -> [BuildRecord]
    {
        let store = ToolchainStore(dataDir: config.dataDir)
        try BuildRunner.reapInterrupted(database: database, dataDir: config.dataDir)
        let json = self.json
        let runner = BuildRunner(config: config, database: database) { line in
            if json { Terminal.error(line) } else { Terminal.out(line) }
        }
        var planned: [(BuildPlan, Int64)] = []
        for dependent in dependents {
            let plan = try BuildPlan.make(
                BuildRequest(project: dependent.project, environment: nil), config: config, store: store)
            let commit = changes.first { $0.environment == plan.environment.name }?.to ?? cause.commit
            let id = try runner.enqueue(plan, trigger: .library, cause: LibraryCause(library: cause.library, commit: commit))
            Terminal.error("queued build #\(id) of \(plan.project.name) in \(plan.environment.name)")
            planned.append((plan, id))
        }
        let jobs = planned
        return try SignalCancellation.runBlocking {
            try await withThrowingTaskGroup(of: BuildRecord.self) { group in
                for (plan, id) in jobs { group.addTask { try await runner.run(plan, id: id) } }
                var records: [BuildRecord] = []
                for try await record in group { records.append(record) }
                return records.sorted { $0.id < $1.id }
            }
        }
    }
}

import ArgumentParser
import Foundation
import GobayCore

extension GobayCLI {
    /// `gobay prune [--dry-run]`: removes builds the retention policy no longer keeps.
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune",
            abstract: "Remove ended builds (rows, logs, artifacts) that retention: no longer keeps; maintain git mirrors; drop clean trees of removed projects.")
        @OptionGroup var options: ConfigOptions
        @Flag(help: "List what would be removed; remove nothing.") var dryRun = false

        func run() throws {
            let config = try options.load()
            if !dryRun {
                // Builds' fetches skip `git maintenance --auto`: a server runs it in its retention
                // loop; without one, `gobay prune` (from cron) does.
                let maintained = GitMirror.maintain(dataDir: config.dataDir)
                if maintained > 0 { Terminal.out("git maintenance ran in \(maintained) mirror(s)") }
                let dropped = GitMirror.dropTrees(dataDir: config.dataDir, keeping: Set(config.projects.map(\.name)))
                if !dropped.isEmpty { Terminal.out("removed the clean trees of \(dropped.joined(separator: ", ")) (no longer in the config)") }
            }
            guard config.retention.isActive || config.projects.contains(where: { $0.retention?.isActive == true }) else {
                Terminal.out("no retention: configured; nothing is pruned (see retention: in the README)")
                return
            }
            let pruner = BuildPruner(config: config, database: try AppDatabase(dataDir: config.dataDir))
            if dryRun {
                let doomed = try pruner.plan()
                Terminal.lines(doomed.map { "would remove #\($0.id) \($0.project) \($0.status.rawValue): \($0.reason)" })
                Terminal.out("\(doomed.count) build(s) would be removed")
                return
            }
            let (removed, bytes) = try pruner.prune()
            Terminal.lines(removed.map { "removed #\($0.id) \($0.project) \($0.status.rawValue): \($0.reason)" })
            Terminal.out("\(removed.count) build(s) removed, \(bytes) bytes freed")
        }
    }
}

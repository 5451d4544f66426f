import ArgumentParser
import GobayCommandLine
import Foundation
import Glibc
import GobayCore

/// The gobay command line: parses arguments and calls the core.
@main
struct GobayCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gobay",
        abstract: "Build and deploy Go services, each in its own Go version's environment.",
        version: BuildInfo.versionLine,
        subcommands: [
            Init.self, ConfigCommand.self, ToolchainCommand.self, EnvCommand.self, Build.self, Builds.self, Log.self,
            Artifacts.self, Cancel.self, Prune.self, LibCommand.self, Deploy.self, Rollback.self, Deployments.self, DeployLog.self,
            Serve.self,
        ])

    /// Runs the command; errors become exit code 2 (usage) or 1 (failure) with a message. Synchronous:
    /// `env exec` closes every descriptor before it execs, which the concurrency runtime's threads
    /// must not be there to see; `build` starts its async work itself (`SignalCancellation`).
    static func main() { CommandMain.run(GobayCLI.self) }
}

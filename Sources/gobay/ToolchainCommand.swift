import ArgumentParser
import GobayCommandLine
import Foundation
import GobayCore

extension GobayCLI {
    /// `gobay toolchain ...`: the Go toolchains in the store.
    struct ToolchainCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "toolchain", abstract: "Install, register and list Go toolchains.",
            subcommands: [List.self, Install.self, Add.self, Remove.self])

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List the toolchains in the store.")
            @OptionGroup var options: ConfigOptions
            @Flag(help: "Print JSON.") var json = false

            func run() throws {
                let config = try options.load()
                let toolchains = ToolchainStore(dataDir: config.dataDir).list()
                if json { return try Terminal.printJSON(toolchains) }
                if toolchains.isEmpty {
                    print("no toolchains; install one with `gobay toolchain install 1.22`")
                    return
                }
                print(Terminal.table([["VERSION", "SOURCE", "GOROOT"]] + toolchains.map { [$0.version, $0.source, $0.goroot] }))
            }
        }

        struct Install: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "install", abstract: "Download and install a Go toolchain.")
            @OptionGroup var options: ConfigOptions
            @Argument(help: "The version: 1.22 (newest 1.22.x) or 1.22.10.") var version: String
            @Option(help: "A site with go.dev/dl's layout (default: toolchains.mirror).") var mirror: String?
            @Option(help: "go.dev or pip.") var source: String = "go.dev"

            func run() throws {
                let config = try options.load()
                guard let source = ToolchainSource(rawValue: source) else {
                    throw GobayError("unknown source \"\(self.source)\"", hint: "use --source go.dev or --source pip")
                }
                var mirror = self.mirror ?? config.toolchainMirror
                if !mirror.hasSuffix("/") { mirror += "/" }
                // A bar only on a terminal; every message first ends the bar's line.
                let bar = Terminal.stderrIsTTY ? ProgressLine() : nil
                var installer = ToolchainInstaller(store: ToolchainStore(dataDir: config.dataDir)) { message in
                    bar?.finish()
                    Terminal.out(message)
                }
                if let bar { installer.progress = { bar.update($0, $1) } }
                let toolchain: Toolchain
                do {
                    let (installer, version, mirror) = (installer, self.version, mirror)
                    toolchain = try AsyncBridge.runBlocking {
                        try await installer.install(version, source: source, mirror: mirror)
                    }
                } catch {
                    bar?.finish()
                    throw error
                }
                bar?.finish()
                print("Go \(toolchain.version) ready at \(toolchain.goroot)")
            }
        }

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "add", abstract: "Register an existing GOROOT.")
            @OptionGroup var options: ConfigOptions
            @Argument(help: "Its version, e.g. 1.19.8.") var version: String
            @Option(help: "The GOROOT (the directory holding bin/go).") var goroot: String

            func run() throws {
                let config = try options.load()
                let toolchain = try ToolchainStore(dataDir: config.dataDir).add(version: version, goroot: goroot)
                print("registered Go \(toolchain.version) at \(toolchain.goroot)")
            }
        }

        struct Remove: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a toolchain from the store.")
            @OptionGroup var options: ConfigOptions
            @Argument(help: "The exact version, e.g. 1.22.10.") var version: String

            func run() throws {
                let config = try options.load()
                try ToolchainStore(dataDir: config.dataDir).remove(version: version)
                print("removed Go \(version)")
            }
        }
    }
}

import ArgumentParser
import Foundation
import GobayCore

extension GobayCLI {
    /// `gobay env ...`: the per-version environments.
    struct EnvCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "env", abstract: "Inspect environments and run commands in them.",
            subcommands: [List.self, Info.self, Exec.self, Shell.self, Sync.self, Remove.self])

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List environments.")
            @OptionGroup var options: ConfigOptions
            @Flag(help: "Print JSON.") var json = false

            func run() throws {
                let config = try options.load()
                let infos = config.environments.map { EnvironmentStatus($0, in: config) }
                if json { return try Terminal.printJSON(infos) }
                let rows = infos.map { i in
                    [i.name, i.go, i.goVersion ?? "missing", i.executor, "\(i.busySlots)/\(i.concurrency)", i.goroot ?? (i.error ?? "")]
                }
                print(Terminal.table([["NAME", "GO", "TOOLCHAIN", "EXECUTOR", "BUSY", "GOROOT"]] + rows))
            }
        }

        struct Info: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "info", abstract: "Show one environment and its variables.")
            @OptionGroup var options: ConfigOptions
            @Argument(help: "The environment.") var name: String
            @Flag(help: "Print JSON.") var json = false

            func run() throws {
                let config = try options.load()
                let info = EnvironmentStatus(try config.environment(name), in: config)
                if json { return try Terminal.printJSON(info) }
                print("environment: \(info.name)")
                print("go: \(info.go) -> \(info.goVersion ?? "missing")")
                print("executor: \(info.executor), concurrency \(info.concurrency), busy \(info.busySlots)")
                print("dir: \(info.dir)")
                if let error = info.error { print("problem: \(error)") }
                for (k, v) in (info.env ?? [:]).sorted(by: { $0.key < $1.key }) {
                    print("  \(k)=\(SecretMask.value(v, name: k))")
                }
            }
        }

        struct Exec: ParsableCommand {
            static let configuration = CommandConfiguration(
            commandName: "exec",
                abstract: "Run a command inside an environment.",
                discussion: "Example: gobay env exec legacy -- go env")
            @OptionGroup var options: ConfigOptions
            @Option(help: "Set GO111MODULE for this mode: gopath or module.") var mode: String?
            @Argument(help: "The environment.") var name: String
            @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
            var command: [String] = []

            func run() throws {
                let config = try options.load()
                let env = try config.resolveEnvironment(name)
                var argv = command
                if argv.first == "--" { argv.removeFirst() }
                guard !argv.isEmpty else {
                    throw GobayError("no command given", hint: "e.g. gobay env exec \(name) -- go env")
                }
                var buildMode: BuildMode?
                if let mode {
                    guard let m = BuildMode(rawValue: mode), m != .auto else {
                        throw GobayError("unknown mode \"\(mode)\"", hint: "use --mode gopath or --mode module")
                    }
                    buildMode = m
                }
                let executor = try env.makeExecutor(dataDir: config.dataDir)
                try executor.prepare()
                let spec = try executor.interactive(
                    argv, mode: buildMode, workingDirectory: nil, tty: isatty(0) == 1 && isatty(1) == 1)
                try ProcessRunner.exec(spec)
            }
        }

        struct Shell: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "shell", abstract: "Open a shell inside an environment.")
            @OptionGroup var options: ConfigOptions
            @Argument(help: "The environment.") var name: String

            func run() throws {
                let config = try options.load()
                let executor = try config.resolveEnvironment(name).makeExecutor(dataDir: config.dataDir)
                try executor.prepare()
                let shell = executor.kind == .host ? (ProcessInfo.processInfo.environment["SHELL"] ?? "/bin/bash") : "/bin/bash"
                try ProcessRunner.exec(try executor.interactive([shell], mode: nil, workingDirectory: nil, tty: isatty(0) == 1))
            }
        }

        struct Sync: ParsableCommand {
            static let configuration = CommandConfiguration(
            commandName: "sync",
                abstract: "Create, recreate or start the containers of docker environments and prepare the others.")
            @OptionGroup var options: ConfigOptions
            @Argument(help: "Environments (default: all).") var names: [String] = []

            func run() throws {
                let config = try options.load()
                var failed = false
                for envConfig in try names.isEmpty ? config.environments : names.map(config.environment) {
                    do {
                        let env = try config.resolve(envConfig)
                        if envConfig.executor == .docker {
                            let container = DockerContainer(environment: env, dataDir: config.dataDir)
                            let action = try container.ensureRunning()
                            Terminal.out("\(envConfig.name): container \(container.name) \(action.rawValue)")
                        } else {
                            try env.makeExecutor(dataDir: config.dataDir).prepare()
                            Terminal.out("\(envConfig.name): ready (\(envConfig.executor.rawValue))")
                        }
                    } catch let error as any UserFacingError {
                        failed = true
                        Terminal.error("\(envConfig.name): \(error.message)" + (error.hint.map { "\nhint: \($0)" } ?? ""))
                    }
                }
                if failed { throw ExitCode(1) }
            }
        }

        struct Remove: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "rm", abstract: "Remove a docker environment's container (it is made again on next use).")
            @OptionGroup var options: ConfigOptions
            @Argument(help: "The environment.") var name: String

            func run() throws {
                let config = try options.load()
                let envConfig = try config.environment(name)
                guard envConfig.executor == .docker else {
                    throw GobayError("environment \"\(name)\" uses executor \(envConfig.executor.rawValue), which has no container")
                }
                let container = DockerContainer(environment: try config.resolve(envConfig), dataDir: config.dataDir)
                let removed = try container.remove()
                Terminal.out(removed ? "removed container \(container.name)" : "no container \(container.name)")
            }
        }
    }
}

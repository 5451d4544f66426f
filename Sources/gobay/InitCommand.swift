import ArgumentParser
import Foundation
import GobayCore

extension GobayCLI {
    /// `gobay init`: writes a commented starter gobay.yml.
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "init", abstract: "Write a commented starter gobay.yml.")

        @Option(help: "Where to write it.") var path: String = "gobay.yml"
        @Flag(help: "Overwrite an existing file.") var force = false

        func run() throws {
            if FileManager.default.fileExists(atPath: path) && !force {
                throw GobayError("\(path) already exists", hint: "pass --force to overwrite it")
            }
            // Readable by gobay alone: it may come to hold secrets, and steps run as other users.
            try AtomicFile.write(Data(StarterConfig.text.utf8), to: path, mode: 0o600)
            print("wrote \(path); edit it, then run `gobay config check`")
        }
    }

    /// `gobay config check`: validates the file and prints the resolved config.
    struct ConfigCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "config", abstract: "Check the config file.", subcommands: [Check.self])

        struct Check: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "check", abstract: "Validate gobay.yml and print the resolved config.")
            @OptionGroup var options: ConfigOptions

            func run() throws {
                let config = try options.load()
                let store = ToolchainStore(dataDir: config.dataDir)
                print("config: \(config.path) is valid")
                var info = stat()
                if stat(config.path, &info) == 0, info.st_mode & 0o077 != 0 {
                    print(
                        "warning: \(config.path) is readable by other users (mode \(String(info.st_mode & 0o777, radix: 8))):"
                            + " build steps run as other users; chmod 600 it")
                }
                print("data_dir: \(config.dataDir)")
                print("toolchains.mirror: \(config.toolchainMirror)")
                print("environments:")
                for env in config.environments {
                    let toolchain = (try? store.resolve(for: env)).map { "Go \($0.version) at \($0.goroot)" }
                        ?? "no toolchain installed for Go \(env.go)"
                    print("  \(env.name): go \(env.go), executor \(env.executor.rawValue), concurrency \(env.concurrency) — \(toolchain)")
                    for (k, v) in env.env { print("    env \(k)=\(SecretMask.value(v, name: k))") }
                    if let user = env.user { print("    steps run as user \(user)") }
                    if env.allowRootBuilds && env.executor != .docker && getuid() == 0 {
                        print(
                            "    warning: allow_root_builds: steps run as root; a build can read and change anything"
                                + " on this host (remove it to run steps as gobay-\(env.name))")
                    }
                }
                print("projects:")
                for p in config.projects {
                    let env = p.environment ?? "(from go.mod)"
                    print("  \(p.name): \(SecretMask.urlPasswords(p.repo)) branch \(p.branch ?? "(default)") env \(env) mode \(p.mode.rawValue)"
                        + (p.importPath.map { " import_path \($0)" } ?? "") + " output \(p.output)")
                    if !p.buildTags.isEmpty { print("    build_tags \(p.buildTags.joined(separator: ",")) (go -tags)") }
                    if p.tags { print("    tags: true (builds git tag pushes; go build tags are build_tags)") }
                    if p.generate { print("    generate: go generate ./... before test and build") }
                    if !p.testFlags.isEmpty { print("    test_flags \(p.testFlags.joined(separator: " "))") }
                    for (k, source) in p.env {
                        switch source {
                        case .environment(let name): print("    env \(k) from $\(name)")
                        case .literal(let v): print("    env \(k)=\(SecretMask.value(v, name: k))")
                        case .none: break
                        }
                    }
                }
                let server = config.server
                let secret: String
                switch server.webhookSecret {
                case .literal?: secret = "set in the file"
                case .environment(let name)?: secret = "from $\(name)"
                case .none?, nil: secret = "not set"
                }
                print("server: listen \(server.listen), max_builds \(server.maxBuilds), webhook_secret \(secret), "
                    + "\(server.tokens.count) API token(s), public_read \(server.publicRead)")
                if !config.libraries.isEmpty {
                    print("libraries:")
                    for l in config.libraries {
                        var details = [
                            "branch \(l.branch ?? "(default)")",
                            "environments \(l.environmentNames(in: config).joined(separator: ","))",
                            "track \(l.track)", "rebuild \(l.rebuild.rawValue)",
                        ]
                        let pins = l.pins.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" }
                        if !pins.isEmpty { details.append("pins \(pins.joined(separator: ","))") }
                        print("  \(l.name): \(SecretMask.urlPasswords(l.repo)) -> \(l.importPath) (\(details.joined(separator: ", ")))")
                    }
                }
            }
        }
    }
}

import ArgumentParser
import Foundation
import GobayCore

extension GobayCLI {
    /// `gobay init`: writes a commented starter gobay.yml.
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a commented starter gobay.yml.")

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
            static let configuration = CommandConfiguration(abstract: "Validate gobay.yml and print the resolved config.")
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
                    for l in config.libraries { print("  \(l.name): \(l.repo) -> \(l.importPath)") }
                }
            }
        }
    }
}

/// The text `gobay init` writes.
enum StarterConfig {
    static let text = """
        # gobay.yml — one file for every Go environment and project on this build machine.
        # Check it with `gobay config check`.

        # Where gobay keeps toolchains, environments, git mirrors, builds and its database.
        data_dir: .gobay                  # relative to this file

        toolchains:
          mirror: https://go.dev/dl/      # any site with go.dev's layout

        # One environment per Go version: its own toolchain, GOPATH, module cache and build cache.
        environments:
          legacy:
            go: "1.19"                    # "1.19" = newest installed 1.19.x; "1.19.8" = exact
            goroot: /usr/lib/go-1.19      # optional: use an existing toolchain
            executor: host                # host | sandbox (bubblewrap) | docker
            concurrency: 2                # builds at once in this environment
            env: { GOFLAGS: "-mod=mod" }
          modern:
            go: "1.22"                    # install with: gobay toolchain install 1.22
            executor: sandbox
            network: none                 # sandbox: host | none; docker: host | none | bridge
          # boxed:
          #   go: "1.22"
          #   executor: docker            # one long-lived container, gobay-boxed
          #   image: "golang:1.22"        # golang images bring their own Go (toolchain: image)
          #   toolchain: image            # or mount: gobay's toolchain at /usr/local/go, any image

        projects:
          legacy-svc:
            repo: file:///srv/git/legacy-svc.git   # any git URL or path
            branch: master
            environment: legacy           # omitted: chosen from go.mod
            mode: gopath                  # gopath | module | auto
            import_path: gitlab.example.com/team/legacy-svc
            package: .
            output: legacy-svc
            ldflags: "-s -w -X main.version={short_commit}"   # {commit} {short_commit} {ref} {build} {date}
            targets: [linux/amd64]
            test: false
            timeout: 30m
          modern-svc:
            repo: file:///srv/git/modern-svc.git
            branch: main
            webhook_secret: {env: MODERN_HOOK_SECRET}   # `none` accepts hooks unverified
            branches: ["main", "release/*"]
            tags: true
            # status:
            #   gitlab: { url: https://gitlab.example.com, project_id: "team/modern-svc", token_env: GITLAB_TOKEN }

        # `gobay serve`: webhooks, the HTTP API and the build queue.
        server:
          listen: 127.0.0.1:8080
          webhook_secret: {env: GOBAY_WEBHOOK_SECRET}
          tokens: []                      # "sha256:<hex>" of each API token: printf %s TOKEN | sha256sum
          public_read: false              # true: GET endpoints and /metrics need no token
          quiet_period: 1s
          grace_period: 30s
          header_timeout: 10s             # a client must send its whole request head within this
          idle_timeout: 60s               # a kept-alive connection idle this long is closed
          # max_connections: 4096         # default: min(4096, half the open-file limit)

        # Shared private libraries that GOPATH projects import; placed into each GOPATH on demand.
        libraries:
          corelib:
            repo: file:///srv/git/corelib.git
            branch: master
            import_path: gitlab.example.com/team/corelib

        """
}

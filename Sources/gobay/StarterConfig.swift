import ArgumentParser
import Foundation
import GobayCore

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
            # deploy:                     # `gobay deploy modern-svc`; the server deploys `on` branches itself
            #   on: [main]
            #   strategy: serial          # serial | parallel | canary
            #   keep: 5
            #   targets:
            #     - name: web-1
            #       host: 10.0.0.5        # or: local
            #       user: deploy
            #       identity_file: /etc/gobay/keys/deploy
            #       known_hosts: /etc/gobay/known_hosts
            #       path: /srv/modern-svc
            #       restart: { supervisor: modern-svc }
            #       health: { http: "http://10.0.0.5:8080/health", timeout: 20s }

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

        # Shared private libraries: one checkout in each environment's GOPATH, kept at the branch head.
        # `gobay lib update corelib` (or a push webhook to its repo) updates every environment at once.
        libraries:
          corelib:
            repo: file:///srv/git/corelib.git
            branch: master
            import_path: gitlab.example.com/team/corelib
            environments: all             # or a list of environment names
            # pin: { legacy: 4f2c9e1 }    # hold one environment at a known-good commit
            track: true                   # module dependents build against the environment's checkout
            rebuild: dependents           # a push rebuilds the projects that import it (or: none)

        """
}

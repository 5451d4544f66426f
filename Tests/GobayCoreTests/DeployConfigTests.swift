import Foundation
import GobayCore
import GobayTesting
import Testing

/// `deploy:` settings that cannot work are refused by `config check` (exit 2), naming the key;
/// a good section is read whole.
@Suite("deploy: config")
struct DeployConfigTests {
    static func config(_ targets: String, extra: String = "") -> String {
        """
        environments:
          go122: { go: "1.22" }
        projects:
          api:
            repo: /srv/git/api.git
            environment: go122
            deploy:
        \(extra)      targets:
        \(targets)
        """
    }

    static let good = """
              - name: web-1
                host: 10.0.0.5
                user: deploy
                identity_file: keys/deploy
                known_hosts: /etc/gobay/known_hosts
                path: /srv/api
                restart: { supervisor: api, config: /etc/supervisor/supervisord.conf }
                health: { http: "http://10.0.0.5:8080/health", timeout: 5s }
              - name: here
                host: local
                path: /srv/api-local
                restart: { command: [/srv/api-local/bin/reload, --graceful] }
                health: { command: [curl, -fsS, "http://127.0.0.1:8080/health"] }
              - name: sys
                host: 10.0.0.6
                port: 2222
                identity_file: /etc/gobay/keys/deploy
                known_hosts: /etc/gobay/known_hosts
                path: /srv/api
                restart: { systemd: api.service }
        """

    @Test func aGoodSectionIsReadWhole() throws {
        let config = try ConfigLoader.parse(
            Self.config(Self.good, extra: "      on: [master, \"release/*\"]\n      strategy: canary\n      keep: 3\n"),
            path: "/etc/gobay/gobay.yml")
        let deploy = try #require(try config.project("api").deploy)
        #expect(deploy.on == ["master", "release/*"] && deploy.strategy == .canary && deploy.keep == 3)
        #expect(deploy.targets.map(\.name) == ["web-1", "here", "sys"])
        let web = deploy.targets[0]
        #expect(web.host == "10.0.0.5" && web.port == 22 && web.user == "deploy" && web.path == "/srv/api")
        #expect(web.identityFile == "/etc/gobay/keys/deploy" && web.knownHosts == "/etc/gobay/known_hosts")
        #expect(web.restart == .supervisor(program: "api", config: "/etc/supervisor/supervisord.conf"))
        #expect(web.health == .http(url: "http://10.0.0.5:8080/health", timeout: 5))
        #expect(deploy.targets[1].isLocal && deploy.targets[1].restart == .command(["/srv/api-local/bin/reload", "--graceful"]))
        #expect(deploy.targets[1].health == .command(["curl", "-fsS", "http://127.0.0.1:8080/health"], timeout: 20))
        #expect(deploy.targets[2].port == 2222 && deploy.targets[2].restart == .systemd(unit: "api.service"))
    }

    @Test func configCheckRefusesBadTargets() throws {
        let sandbox = try TestSandbox("deploy-config")
        let base = """
                  - name: web-1
                    host: local
                    path: /srv/api
                    restart: { supervisor: api }
            """
        let cases: [(String, String)] = [
            ("      - name: web-1\n        host: local\n        restart: { supervisor: api }", "missing required key \"path\""),
            ("      - name: web-1\n        host: local\n        path: srv/api\n        restart: { supervisor: api }", "is not an absolute path"),
            ("      - name: web-1\n        host: local\n        path: /srv/api\n        restart: { docker: api }", "unknown key \"docker\""),
            (base + "\n" + base, "two targets are named \"web-1\""),
            ("      - name: web-1\n        host: 10.0.0.5\n        identity_file: /k\n        path: /srv/api\n        restart: { supervisor: api }", "missing required key \"known_hosts\""),
            ("      - name: web-1\n        host: local\n        path: /srv/../etc\n        restart: { supervisor: api }", "without . or .."),
            ("      - name: web-1\n        host: local\n        path: /srv/api\n        restart: { supervisor: api, systemd: api }", "name one way to restart"),
            ("      - name: web-1\n        host: \"-oProxyCommand=x\"\n        path: /srv/api\n        restart: { supervisor: api }", "is not a host name"),
        ]
        for (targets, message) in cases {
            let path = try sandbox.write("gobay.yml", Self.config(targets))
            let result = try GobayBinary(config: path).run(["config", "check"])
            #expect(result.status == 2, "\(message): \(result.stdout) \(result.stderr)")
            #expect(result.stderr.contains(message), "\(message): \(result.stderr)")
            #expect(result.stderr.contains("projects.api.deploy"), "\(result.stderr)")
        }
        let strategy = try sandbox.write("gobay.yml", Self.config(base, extra: "      strategy: rolling\n"))
        let refused = try GobayBinary(config: strategy).run(["config", "check"])
        #expect(refused.status == 2 && refused.stderr.contains("unknown strategy \"rolling\""), "\(refused.stderr)")
        let ok = try sandbox.write("gobay.yml", Self.config(base))
        #expect(try GobayBinary(config: ok).run(["config", "check"]).status == 0)
    }
}

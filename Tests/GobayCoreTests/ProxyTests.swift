import Foundation
import GobayCore
import GobayTesting
import Testing

/// Downloads and the remote CLI go through the proxy the environment names, as curl's users expect.
@Suite("HTTP proxy from the environment")
struct ProxyTests {
    func server(_ env: [String: String], _ url: String) -> ProxySettings.Server? {
        URL(string: url).flatMap { ProxySettings(environment: env).server(for: $0) }
    }

    @Test func variablesAreReadAsCurlReadsThem() {
        let proxy = ProxySettings.Server(host: "proxy.corp", port: 3128, credentials: nil)
        #expect(server(["http_proxy": "http://proxy.corp:3128"], "http://go.dev/dl/") == proxy)
        #expect(server(["HTTPS_PROXY": "proxy.corp:3128"], "https://go.dev/dl/") == proxy)
        #expect(server(["https_proxy": "proxy.corp:3128"], "http://go.dev/dl/") == nil)
        // HTTP_PROXY in upper case is not trusted for http (httpoxy); the lowercase one is.
        #expect(server(["HTTP_PROXY": "proxy.corp:3128"], "http://go.dev/dl/") == nil)
        #expect(server(["all_proxy": "proxy.corp:3128"], "https://go.dev/dl/") == proxy)
        #expect(server(["http_proxy": "proxy.corp"], "http://go.dev/")?.port == 1080)
        let withUser = server(["https_proxy": "http://ci%40corp:p%3Ass@proxy.corp:3128"], "https://go.dev/")
        #expect(withUser?.credentials?.user == "ci@corp" && withUser?.credentials?.password == "p:ss")
        #expect(server(["https_proxy": "socks5://proxy.corp:1080"], "https://go.dev/") == nil)
        for bypass in ["go.dev", ".go.dev", "*", "example.com, go.dev"] {
            #expect(server(["https_proxy": "proxy.corp:3128", "no_proxy": bypass], "https://dl.go.dev/x") == nil, "\(bypass)")
        }
        #expect(server(["https_proxy": "proxy.corp:3128", "NO_PROXY": "notgo.dev"], "https://go.dev/x") == proxy)
    }

    /// The mirror's host name resolves nowhere but in the proxy: the install works only through it,
    /// and no_proxy sends the same request direct (where it fails, naming the host).
    @Test func toolchainInstallGoesThroughTheProxy() throws {
        let sandbox = try TestSandbox("proxy")
        let tarball = try GoDevServer.tarball(of: TestToolchains.go122)
        let version = "go" + (try TestToolchains.version(TestToolchains.go122))
        let mirror = try GoDevServer(
            entries: [GoDevServer.Entry(version: version, tarball: tarball, sha256: try FileDigest.sha256(path: tarball))],
            dir: sandbox.path + "/mirror")
        let proxy = try ForwardProxy(dir: sandbox.path + "/proxy")
        let hidden = "http://mirror.gobay-test.invalid:\(mirror.port)/dl/"
        let config = try sandbox.write("gobay.yml", "toolchains:\n  mirror: \(hidden)\n")
        let gobay = try GobayBinary(config: config)
        var spec = gobay.spec(["toolchain", "install", "1.22"])
        spec.environment["http_proxy"] = proxy.url
        let installed = try ProcessRunner.capture(spec, deadline: Date().addingTimeInterval(300))
        #expect(installed.outcome.status == 0, "\(installed.stderr)")
        #expect(FileManager.default.isExecutableFile(atPath: sandbox.path + "/.gobay/toolchains/\(version)/bin/go"))
        #expect(proxy.served.contains { $0.contains("mirror.gobay-test.invalid:\(mirror.port)") }, "\(proxy.served)")
        let before = proxy.served.count
        try FileManager.default.createDirectory(atPath: sandbox.path + "/direct", withIntermediateDirectories: true)
        let directConfig = try sandbox.write("direct/gobay.yml", "toolchains:\n  mirror: \(hidden)\n")
        var direct = try GobayBinary(config: directConfig).spec(["toolchain", "install", "1.22"])
        direct.environment["http_proxy"] = proxy.url
        direct.environment["no_proxy"] = ".gobay-test.invalid"
        let failed = try ProcessRunner.capture(direct, deadline: Date().addingTimeInterval(300))
        #expect(failed.outcome.status == 1)
        #expect(failed.stderr.contains("mirror.gobay-test.invalid"), "\(failed.stderr)")
        #expect(proxy.served.count == before)
    }
}

import AsyncHTTPClient
import Foundation
import GobayTesting
import Testing

@testable import GobayCore

/// Several independent commands in one round trip (`RemoteCommand.parts`), run by real shells
/// with hostile arguments, and read back part by part; and what gobay reads from supervisord's
/// config and XML-RPC answers.
@Suite("deploy: parts of one round trip, supervisor's config and XML-RPC")
struct RemotePartsTests {
    /// Each part gets its own output and status; a failing part does not stop the next unless
    /// asked; nothing in an argument runs.
    @Test(arguments: ["/bin/sh", "/bin/bash"])
    func partsComeBackOneByOne(shell: String) throws {
        let marker = FileManager.default.temporaryDirectory.path + "/gobay-parts-\(UUID().uuidString)"
        let hostile = RemoteCommandTests.hostile + ["$(touch \(marker))", "`touch \(marker)`"]
        let separator = "gobay-part-" + UUID().uuidString.lowercased()
        let parts: [[[String]]] = [
            [["printf", "%s\\0"] + hostile],
            [["sh", "-c", "echo to-stderr >&2; exit 3"]],
            // Output without a final newline, and a line that looks like a separator.
            [["printf", "no newline\n\(separator.dropLast()) 0 1 2"]],
            [["true"], ["false"]],
        ]
        for (stop, timed) in [(false, false), (true, true), (false, true)] {
            let line = try RemoteCommand.parts(parts, separator: separator, stopAtFailure: stop, timed: timed)
            let run = try ProcessRunner.capture(ProcessSpec([shell, "-c", line], environment: ["PATH": "/usr/bin:/bin"]))
            #expect(run.outcome.status == 0, "\(run.stderr)")
            let results = RemoteParts.split(run.stdout, separator: separator)
            #expect(results.count == (stop ? 2 : 4), "\(results)")
            #expect(results[0].succeeded)
            #expect(results[0].stdout.split(separator: "\0", omittingEmptySubsequences: false).dropLast().map(String.init) == hostile)
            #expect(results[1].status == 3 && results[1].stdout == "to-stderr\n")
            #expect(results.allSatisfy { timed ? ($0.milliseconds ?? -1) >= 0 : $0.milliseconds == nil })
            if !stop {
                #expect(results[2].succeeded && results[2].stdout == "no newline\n\(separator.dropLast()) 0 1 2")
                #expect(results[3].status == 1)
            }
        }
        #expect(!FileManager.default.fileExists(atPath: marker), "a command substitution ran")
        #expect(throws: GobayError.self) { try RemoteCommand.parts(parts, separator: "a b", stopAtFailure: false) }
        #expect(throws: GobayError.self) { try RemoteCommand.parts([], separator: "x", stopAtFailure: false) }
    }

    /// The verify step reads the sha256 that `openssl dgst -r` or `sha256sum` printed (stderr
    /// merged in before it); the quoted builtin `command -v` tells whether openssl is there, in
    /// every shell a target may log in with; locally there is no program `command`, so 127.
    @Test(arguments: ["/bin/sh", "/bin/bash"])
    func sha256OfTheUploadAsTheTargetPrintsIt(shell: String) async throws {
        let file = FileManager.default.temporaryDirectory.path + "/gobay-sha-\(UUID().uuidString)"
        try Data("release\n".utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let expected = "ee3a4a4a9e0d5ac8d2b1dd8c3a2cb07e0b9aef0b1cc0e9ef2e1a2c78e5e5d1d5"
        let environment = ["PATH": "/usr/bin:/bin"]
        let separator = "gobay-part-" + UUID().uuidString.lowercased()
        let line = try RemoteCommand.parts(
            [[["command", "-v", "openssl"]], [["command", "-v", "gobay-no-such-program"]],
             [TargetDeploy.opensslSHA256 + [file]], [TargetDeploy.sha256sum + [file]]],
            separator: separator, stopAtFailure: false)
        let run = try await ProcessRunner.capture(ProcessSpec([shell, "-c", line], environment: environment))
        let results = RemoteParts.split(run.stdout, separator: separator)
        // A missing program is 127 in dash, 1 in bash: not 0 is what counts.
        #expect(results.count == 4 && results.map { $0.status == 0 } == [true, false, true, true], "\(results)")
        let sums = results.suffix(2).map { TargetDeploy.sha256(in: $0.stdout) }
        #expect(sums[0] != nil && sums[0] == sums[1], "\(results)")
        #expect(TargetDeploy.sha256(in: "warning: something\n\(expected) *\(file)\n") == expected)
        #expect(TargetDeploy.sha256(in: "\(expected)  \(file)\n") == expected)
        #expect(TargetDeploy.sha256(in: "sha256sum: \(file): No such file or directory\n") == nil)
        #expect(TargetDeploy.sha256(in: String(expected.dropLast()) + "  x\n") == nil)
        #expect(TargetDeploy.sha256(in: expected.uppercased() + "  x\n") == nil)
        let local = try await LocalTransport().run(["command", "-v", "openssl"], deadline: nil)
        #expect(local.status == 127)
    }

    /// A health URL nothing listens on is an answer at once, not a wait until the attempt's timeout:
    /// the check retries every 250 ms, so a program that starts listening late is seen soon after.
    /// Timed on a thread that waits on the request's future (woken by the event loop itself), so
    /// how busy the test process's other tasks keep its task pool does not count.
    @Test func aRefusedHealthCheckAnswersAtOnce() throws {
        let port = try DeployTarget.freeLoopbackPort()
        var configuration = TargetDeploy.healthClientConfiguration
        // A client that retried would keep at it this long.
        configuration.timeout.connect = .seconds(60)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        defer { try? client.syncShutdown() }
        let started = ContinuousClock.now
        let answer: Result<HTTPClient.Response, Error> = Result {
            try client.get(url: "http://127.0.0.1:\(port)/health").wait()
        }
        #expect(ContinuousClock.now - started < .seconds(30), "\(answer)")
        if case .success(let response) = answer { Issue.record("nothing listens, yet it answered \(response.status)") }
    }

    /// Where `supervisorctl -c CONFIG` connects, as gobay reads it; nil leaves it to supervisorctl.
    @Test func supervisorServerFromTheConfig() {
        func locate(_ text: String, _ path: String = "/etc/supervisor/supervisord.conf") -> SocketAddress? {
            SupervisorServer.locate(config: text, path: path)
        }
        #expect(locate("[supervisorctl]\nserverurl=unix:///var/run/supervisor.sock ; the socket\n") == .unix("/var/run/supervisor.sock"))
        #expect(locate("[unix_http_server]\nfile=/tmp/x.sock\n\n[supervisorctl]\nserverurl = unix://%(here)s/s.sock\n")
            == .unix("/etc/supervisor/s.sock"))
        #expect(locate("; no [supervisorctl] section\n[supervisord]\nlogfile=/tmp/l\n") == .tcp(host: "localhost", port: 9001))
        #expect(locate("[supervisorctl]\nserverurl: http://127.0.0.1:9002/RPC2\n") == .tcp(host: "127.0.0.1", port: 9002))
        #expect(locate("[supervisorctl]\nserverurl=http://[::1]:9003\n") == .tcp(host: "::1", port: 9003))
        // A password stays on the target: supervisorctl reads it there.
        #expect(locate("[supervisorctl]\nserverurl=unix:///s.sock\nusername=admin\npassword=secret\n") == nil)
        #expect(locate("[supervisorctl]\nserverurl=unix://%(ENV_SOCK)s\n") == nil)
        #expect(locate("[supervisorctl]\nserverurl=unix://%(here)s/s.sock\n", "supervisord.conf") == nil)
        #expect(locate("[supervisorctl]\nserverurl=unix://relative.sock\n") == nil)
        #expect(locate("[supervisorctl]\nserverurl=http://localhost\n") == nil)
    }

    /// Requests escape what they carry; faults and struct members are read back.
    @Test func xmlRPCRequestsAndAnswers() {
        let request = SupervisorRPC.request("supervisor.startProcess", [.string("a<b>&c"), .boolean(true)])
        #expect(request.contains("<string>a&lt;b&gt;&amp;c</string>") && request.contains("<boolean>1</boolean>"))
        let fault = """
            <?xml version='1.0'?>
            <methodResponse><fault><value><struct>
            <member><name>faultCode</name><value><int>10</int></value></member>
            <member><name>faultString</name><value><string>BAD_NAME: a&amp;b</string></value></member>
            </struct></value></fault></methodResponse>
            """
        #expect(SupervisorRPC.fault(in: fault) == SupervisorRPC.Fault(code: 10, message: "BAD_NAME: a&b"))
        let info = "<methodResponse><params><param><value><struct><member><name>statename</name><value><string>RUNNING</string></value></member></struct></value></param></params></methodResponse>"
        #expect(SupervisorRPC.fault(in: info) == nil)
        #expect(SupervisorRPC.member("statename", in: info) == "RUNNING")
    }
}

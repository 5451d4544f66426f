import Foundation
import GobayTesting
import Testing

@testable import GobayCore

/// gobay's own SSH transport against a real sshd: the upload's receiving command, with and
/// without the pipe widened.
@Suite("deploy: the SSH transport's upload", .serialized)
struct SSHTransportTests {
    /// perl widens the receiving command's stdin (sshd's pipe) to 1 MiB and then runs the
    /// command after it, its words untouched; an upload through it arrives whole; a command
    /// that is not there fails with its name.
    @Test func theUploadPipeIsWidenedAndTheFileArrivesWhole() async throws {
        let sandbox = try TestSandbox("ssh-transport")
        let web = try DeployTarget(name: "web-1", sandbox: sandbox)
        defer { web.stop() }
        let config = DeployTargetConfig(
            name: web.name, host: "127.0.0.1", port: web.sshPort, user: web.user, identityFile: web.identityFile,
            knownHosts: web.knownHosts, path: web.deployPath, restart: .command(["true"]))
        let marker = sandbox.path + "/ran"
        // 3 MB that do not compress, so the channel carries all of it.
        var bytes = [UInt8](repeating: 0, count: 3_000_000)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let local = sandbox.path + "/payload"
        try Data(bytes).write(to: URL(fileURLWithPath: local))
        let sum = FileDigest.sha256(data: Data(bytes))

        try await SSHTransport.withConnection(config, marker: [:], opening: [], deadline: nil, log: { _ in }) {
            transport, _ in
            let pipeSize = ["python3", "-c", "import fcntl; print(fcntl.fcntl(0, 1032))"]
            let plain = try await transport.run(pipeSize, deadline: nil)
            #expect(plain.succeeded && plain.stdout == "65536\n", "\(plain)")
            let widened = try await transport.run(SSHTransport.pipeWidener + pipeSize, deadline: nil)
            #expect(widened.succeeded && widened.stdout == "1048576\n", "\(widened)")

            let words = ["it's", "$(touch \(marker))", "`touch \(marker)`", "-e", "--", "a\nb"]
            let echoed = try await transport.run(SSHTransport.pipeWidener + ["printf", "%s\\0"] + words, deadline: nil)
            #expect(echoed.stdout.split(separator: "\0", omittingEmptySubsequences: false).dropLast().map(String.init) == words)
            let missing = try await transport.run(SSHTransport.pipeWidener + ["gobay-no-such-program"], deadline: nil)
            #expect(!missing.succeeded && missing.stderr.contains("cannot run gobay-no-such-program"), "\(missing)")

            for widen in [true, false] {
                let remote = web.deployPath + "/releases/upload-\(widen)"
                let results = try await transport.upload(
                    local, to: remote, widenPipe: widen, then: [[TargetDeploy.sha256sum + [remote]]], deadline: nil)
                #expect(results.count == 1 && TargetDeploy.sha256(in: results[0].stdout) == sum, "\(results)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: marker), "a command substitution ran")
    }
}

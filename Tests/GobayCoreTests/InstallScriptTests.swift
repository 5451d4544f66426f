import Foundation
import GobayCore
import GobayTesting
import Testing

/// scripts/install into a DESTDIR: binaries, the systemd unit, a private starter config, the version.
@Suite("scripts/install")
struct InstallScriptTests {
    @Test func installsBinariesUnitAndAPrivateConfig() throws {
        let root = GobayBinary.repositoryRoot()
        let sandbox = try TestSandbox("install")
        // The debug binaries stand in for the release ones; the commit file is what build-release writes.
        let bin = sandbox.path + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let built = (try GobayBinary(config: "/dev/null").path as NSString).deletingLastPathComponent
        for name in ["gobay", "gobay-server"] {
            try FileManager.default.copyItem(atPath: built + "/" + name, toPath: bin + "/" + name)
        }
        try "0123abcd4567\n".write(toFile: bin + "/gobay.buildinfo", atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["DESTDIR"] = sandbox.path + "/root"
        env["GOBAY_BIN_DIR"] = bin
        let result = try ProcessRunner.capture(
            ProcessSpec([root + "/scripts/install", "--no-build"], environment: env, workingDirectory: root),
            deadline: Date().addingTimeInterval(120))
        #expect(result.outcome.status == 0, "\(result.stderr)")
        let dest = sandbox.path + "/root"
        for path in ["/usr/local/bin/gobay", "/usr/local/bin/gobay-server"] {
            #expect(FileManager.default.isExecutableFile(atPath: dest + path), "\(path)")
        }
        let unit = try String(contentsOfFile: dest + "/etc/systemd/system/gobay.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/local/bin/gobay serve"))
        #expect(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"))
        let config = dest + "/etc/gobay/gobay.yml"
        #expect(try FileManager.default.attributesOfItem(atPath: config)[.posixPermissions] as? Int == 0o600)
        #expect(try ConfigLoader.load(path: config).dataDir == "/var/lib/gobay")
        let version = try ProcessRunner.capture(
            ProcessSpec([dest + "/usr/local/bin/gobay", "--version"], environment: ["PATH": "/usr/bin:/bin"]))
        #expect(version.stdout == "0.1.0 (commit 0123abcd4567)\n", "\(version.stdout)\(version.stderr)")
        // A second run keeps the operator's config.
        try "data_dir: /srv/gobay\n".write(toFile: config, atomically: true, encoding: .utf8)
        let again = try ProcessRunner.capture(
            ProcessSpec([root + "/scripts/install", "--no-build"], environment: env, workingDirectory: root),
            deadline: Date().addingTimeInterval(120))
        #expect(again.outcome.status == 0 && again.stdout.contains("keeping"), "\(again.stdout)")
        #expect(try String(contentsOfFile: config, encoding: .utf8) == "data_dir: /srv/gobay\n")
    }
}

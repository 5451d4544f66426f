import Foundation
import GobayCore
import Testing

/// The one quoting function every remote command goes through, against hostile strings, parsed
/// by real shells: each argument must arrive as itself, and nothing may run.
@Suite("deploy: remote command quoting")
struct RemoteCommandTests {
    static let hostile = [
        "$(curl x|sh)", "`id`", "a'b", "'", "''", "\"", "\\", "\\'", "a b", "", " ", "-n", "--", "-e", "\n", "a\nb",
        "*", "?", "[a]", "~", "~root", "$HOME", "${HOME}", ";rm -rf /tmp/nothing", "a\tb", "ünïcödé", "\u{1b}[31mred",
        "!", "!!", "#comment", "{a,b}", "$'x'", ">out", "<in", "|", "&", "&&", "%s", "\\n", "$((1+1))", "a'\"'\"'b",
    ]

    @Test(arguments: ["/bin/sh", "/bin/bash"])
    func everyArgumentArrivesAsItself(shell: String) throws {
        let marker = FileManager.default.temporaryDirectory.path + "/gobay-quote-\(UUID().uuidString)"
        let args = Self.hostile + ["$(touch \(marker))", "`touch \(marker)`"]
        let line = try RemoteCommand.line(["printf", "%s\\0"] + args)
        let result = try ProcessRunner.capture(ProcessSpec([shell, "-c", line], environment: ["PATH": "/usr/bin:/bin", "HOME": "/root"]))
        #expect(result.outcome.status == 0, "\(result.stderr)")
        var received = result.stdout.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
        #expect(received.last == "")
        received.removeLast()
        #expect(received == args)
        #expect(!FileManager.default.fileExists(atPath: marker), "a command substitution ran")
    }

    /// A sequence runs each vector only after the one before succeeded, each argument intact.
    @Test(arguments: ["/bin/sh", "/bin/bash"])
    func aSequenceStopsAtTheFirstFailure(shell: String) throws {
        let marker = FileManager.default.temporaryDirectory.path + "/gobay-seq-\(UUID().uuidString)"
        let line = try RemoteCommand.sequence([
            ["printf", "%s\\0"] + Self.hostile, ["false"], ["touch", marker],
        ])
        let result = try ProcessRunner.capture(ProcessSpec([shell, "-c", line], environment: ["PATH": "/usr/bin:/bin"]))
        #expect(result.outcome.status == 1)
        #expect(result.stdout.split(separator: "\0", omittingEmptySubsequences: false).dropLast().map(String.init) == Self.hostile)
        #expect(!FileManager.default.fileExists(atPath: marker), "a command after a failure ran")
        let ok = try RemoteCommand.sequence([["true"], ["touch", marker]])
        #expect(try ProcessRunner.capture(ProcessSpec([shell, "-c", ok], environment: ["PATH": "/usr/bin:/bin"])).outcome.status == 0)
        #expect(FileManager.default.fileExists(atPath: marker))
        try? FileManager.default.removeItem(atPath: marker)
    }

    @Test func quotingIsPlainSingleQuotes() throws {
        #expect(try RemoteCommand.quote("a'b") == #"'a'\''b'"#)
        #expect(try RemoteCommand.quote("") == "''")
        #expect(try RemoteCommand.line(["ls", "-1", "--", "/srv/a b"]) == "'ls' '-1' '--' '/srv/a b'")
        #expect(throws: GobayError.self) { try RemoteCommand.quote("a\0b") }
        #expect(throws: GobayError.self) { try RemoteCommand.line([]) }
    }
}

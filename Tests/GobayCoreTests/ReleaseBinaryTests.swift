import Foundation
import GobayCore
import GobayTesting
import Testing

/// The binaries scripts/build-release makes: stripped, and `--version` names the commit.
/// scripts/test builds them first and passes their directory as GOBAY_RELEASE_BIN_DIR (CI always does).
@Suite("release binaries")
struct ReleaseBinaryTests {
    static let directory = ProcessInfo.processInfo.environment["GOBAY_RELEASE_BIN_DIR"]

    /// In CI the release binaries must be there; elsewhere the test runs when they were built.
    @Test func ciBuildsTheReleaseBinaries() {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            #expect(Self.directory != nil, "scripts/test must run scripts/build-release and set GOBAY_RELEASE_BIN_DIR")
        }
    }

    @Test(.enabled(if: directory != nil)) func releaseBinariesAreStripped() throws {
        let directory = try #require(Self.directory)
        // A debug binary still has its symbol table, so the check can tell the two apart.
        let debug = (try GobayBinary(config: "/dev/null").path as NSString).deletingLastPathComponent
        #expect(try ELFSections.names(atPath: debug + "/gobay").contains(".symtab"))
        for name in ["gobay", "gobay-server"] {
            let sections = try ELFSections.names(atPath: directory + "/" + name)
            #expect(sections.contains(".text"), "\(name): \(sections)")
            #expect(!sections.contains(".symtab"), "\(name) has a symbol table; build it with scripts/build-release")
            #expect(!sections.contains(".debug_info"), "\(name) has debug info")
        }
    }

    @Test(.enabled(if: directory != nil)) func versionNamesTheCommit() throws {
        let directory = try #require(Self.directory)
        let root = GobayBinary.repositoryRoot()
        let recorded = try String(contentsOfFile: directory + "/gobay.buildinfo", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let head = try ProcessRunner.capture(ProcessSpec(["git", "-C", root, "rev-parse", "--short=12", "HEAD"], environment: ProcessInfo.processInfo.environment))
        #expect(recorded.hasPrefix(head.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let version = try ProcessRunner.capture(ProcessSpec([directory + "/gobay", "--version"], environment: [:]))
        #expect(version.outcome.status == 0)
        #expect(version.stdout.contains("(commit \(recorded))"), "\(version.stdout)")
    }
}

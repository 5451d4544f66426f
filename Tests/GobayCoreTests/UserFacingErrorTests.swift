import Foundation
import GobayCore
import GobayTesting
import Testing

/// Errors decide their own exit code and HTTP status from their kind; nothing reads their text to decide.
@Suite("typed errors")
struct UserFacingErrorTests {
    @Test func kindsMapToExitCodesAndStatuses() {
        let expected: [(FailureKind, Int32, Int)] = [
            (.usage, 2, 400), (.notFound, 2, 404), (.unprocessable, 2, 422), (.conflict, 2, 409),
            (.upstream, 1, 502), (.unavailable, 1, 503), (.failure, 1, 500),
        ]
        for (kind, exit, status) in expected {
            #expect(kind.exitCode == exit && kind.httpStatus == status, "\(kind)")
        }
    }

    @Test func unknownNamesAndMissingRefsSayWhatTheyAre() throws {
        let sandbox = try TestSandbox("typed-errors")
        let path = sandbox.path + "/gobay.yml"
        try """
        data_dir: \(sandbox.path)/data
        environments:
          go122: { go: "1.22", goroot: /nonexistent }
        projects:
          svc: { repo: \(sandbox.path)/repo, environment: go122 }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: path)
        #expect(throws: GobayError.self) { try config.project("nope") }
        do {
            _ = try config.project("nope")
        } catch let error as any UserFacingError {
            #expect(error.kind == .notFound && error.message == #"unknown project "nope""#)
        }
        do {
            _ = try config.environment("go9")
        } catch let error as any UserFacingError {
            #expect(error.kind == .notFound)
        }
        let repo = try GitFixture(path: sandbox.path + "/repo", files: ["README": "x\n"])
        let mirror = GitMirror(url: repo.path, dataDir: sandbox.path + "/data")
        try mirror.update()
        do {
            _ = try mirror.resolve(ref: "no-such-branch")
            Issue.record("resolved a missing branch")
        } catch let error as any UserFacingError {
            #expect(error.kind == .unprocessable && error.exitCode == 2, "\(error)")
        }
        let gone = GitMirror(url: sandbox.path + "/missing-repo", dataDir: sandbox.path + "/data")
        do {
            try gone.update()
            Issue.record("fetched a missing repository")
        } catch let error as any UserFacingError {
            #expect(error.kind == .upstream && error.exitCode == 1, "\(error)")
        }
    }

    /// The server and the CLI map kinds, never text: no code looks at an error message's words.
    @Test func noStatusIsChosenByMessageText() throws {
        let root = GobayBinary.repositoryRoot() + "/Sources"
        var offenders: [String] = []
        for file in FileManager.default.enumerator(atPath: root)?.compactMap({ $0 as? String }) ?? []
        where file.hasSuffix(".swift") {
            let text = try String(contentsOfFile: root + "/" + file, encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where line.contains("message.hasPrefix(") || line.contains("message.contains(")
                || line.contains("localizedDescription.contains(")
            {
                offenders.append("\(file):\(number + 1)")
            }
        }
        #expect(offenders.isEmpty, "errors matched by text at \(offenders)")
    }
}

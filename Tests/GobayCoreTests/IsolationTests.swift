import Foundation
import GobayCore
import GobayTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Descriptors, artifacts and the source itself: the parts of the security model that need no
/// toolchain.
@Suite("isolation: descriptors, artifacts, no try!")
struct IsolationTests {
    /// A step starts with stdin, stdout and stderr only, even when gobay holds descriptors that
    /// are not close-on-exec (a listening socket, an open file), as a library might leave them.
    @Test func stepsInheritOnlyStdio() throws {
        let sandbox = try TestSandbox("fds")
        let file = open(sandbox.path + "/held", O_WRONLY | O_CREAT, 0o600)
        #expect(file >= 0)
        defer { close(file) }
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(listen(listener, 4) == 0)
        let result = try ProcessRunner.capture(
            ProcessSpec(["ls", "/proc/self/fd"], environment: ["PATH": "/usr/bin:/bin"]))
        // ls's own directory descriptor is 3.
        #expect(result.stdout.split(separator: "\n") == ["0", "1", "2", "3"], "\(result.stdout)")
    }

    /// The artifact store copies regular files only: a link to gobay's database, a link on the
    /// way, a fifo or a directory in the output's place fails with a message naming it.
    @Test func artifactStoreTakesRegularFilesOnly() throws {
        let sandbox = try TestSandbox("store")
        let base = sandbox.path + "/env"
        try FileManager.default.createDirectory(atPath: base + "/out/7", withIntermediateDirectories: true)
        try sandbox.write("gobay.sqlite", "the history")
        let dataDir = sandbox.path + "/data"

        func store(_ name: String) -> String {
            do {
                _ = try ArtifactStore(directory: DataDirectory(dataDir).build(7).artifacts)
                    .store("out/7/\(name)", below: base, as: name)
                return "stored"
            } catch {
                return "\(error)"
            }
        }
        try FileManager.default.createSymbolicLink(atPath: base + "/out/7/link", withDestinationPath: sandbox.path + "/gobay.sqlite")
        #expect(store("link").contains("symbolic link"))
        #expect(mkfifo(base + "/out/7/fifo", 0o644) == 0)
        #expect(store("fifo").contains("fifo"))
        try FileManager.default.createDirectory(atPath: base + "/out/7/dir", withIntermediateDirectories: true)
        #expect(store("dir").contains("directory"))
        // A link on the way: out/8 → out/7, so out/8/good is a regular file behind a link.
        try sandbox.write("env/out/7/good", "binary")
        try FileManager.default.createSymbolicLink(atPath: base + "/out/8", withDestinationPath: base + "/out/7")
        let behindLink: String
        do {
            _ = try ArtifactStore(directory: dataDir + "/builds/8/artifacts").store("out/8/good", below: base, as: "good")
            behindLink = "stored"
        } catch {
            behindLink = "\(error)"
        }
        #expect(behindLink.contains("symbolic link"))
        #expect(store("good") == "stored")
        let stored = DataDirectory(dataDir).build(7).artifacts + "/good"
        #expect(FileManager.default.contents(atPath: stored) == Data("binary".utf8))
        #expect(ArtifactStore.contents(dataDir: dataDir, buildID: 7, path: stored) == Data("binary".utf8))
        // The API serves nothing outside the build's store, whatever a record says.
        #expect(ArtifactStore.contents(dataDir: dataDir, buildID: 7, path: sandbox.path + "/gobay.sqlite") == nil)
        #expect(!FileManager.default.fileExists(atPath: dataDir + "/builds/7/artifacts/link"))
    }

    /// No `try!` anywhere in Sources: a full disk or a bad file fails cleanly, never crashes.
    @Test func sourcesHaveNoTryBang() throws {
        let root = GobayBinary.repositoryRoot()
        let sources = root + "/Sources"
        let files = try FileManager.default.subpathsOfDirectory(atPath: sources).filter { $0.hasSuffix(".swift") }
        #expect(files.count > 20)
        var offenders: [String] = []
        for file in files {
            let text = try String(contentsOfFile: sources + "/" + file, encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where line.contains("try!") && !line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                offenders.append("\(file):\(number + 1)")
            }
        }
        #expect(offenders.isEmpty, "try! in \(offenders)")
    }
}

import Foundation
import GobayCore
import GobayTesting
import Testing

/// DataDirectory is the one place the data dir's layout is spelled out.
@Suite("data dir layout")
struct DataDirectoryTests {
    @Test func layout() {
        let data = DataDirectory("/srv/gobay")
        #expect(data.database == "/srv/gobay/gobay.sqlite")
        #expect(data.databaseFiles == ["/srv/gobay/gobay.sqlite", "/srv/gobay/gobay.sqlite-wal", "/srv/gobay/gobay.sqlite-shm"])
        #expect(data.build(42).log == "/srv/gobay/builds/42/log")
        #expect(data.build(42).junit == "/srv/gobay/builds/42/artifacts/junit.xml")
        #expect(data.environment("legacy") == "/srv/gobay/envs/legacy")
        #expect(data.ownerLock("abc") == "/srv/gobay/locks/owners/abc.lock")
        #expect(data.mirror(name: "svc", key: "0123456789ab") == "/srv/gobay/git/svc-0123456789ab.git")
    }

    /// No file outside Layout/DataDirectory.swift builds a data dir path by string concatenation.
    @Test func noPathIsBuiltByHand() throws {
        let root = GobayBinary.repositoryRoot() + "/Sources"
        let patterns = [
            "\"/locks", "/locks/", "\"/builds\"", "/builds/\\(", "\"/envs", "\"/git\"", "/git/\\(", "gobay.sqlite\"",
            "\"/toolchains\"", "\"/artifacts", "+ \"/log\"", "\"/work\"", "\"/gopath", "\"/gocache", "\"/gomodcache",
            "\"/home\"", "\"/out\"",
        ]
        var offenders: [String] = []
        for file in FileManager.default.enumerator(atPath: root)?.compactMap({ $0 as? String }) ?? []
        where file.hasSuffix(".swift") && file != "GobayCore/Layout/DataDirectory.swift"
            && file != "GobayCore/Layout/DashboardURL.swift"
        {
            let text = try String(contentsOfFile: root + "/" + file, encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                guard !code.hasPrefix("//"), !line.contains("/api/v1/") else { continue }
                if let pattern = patterns.first(where: { line.contains($0) }) {
                    offenders.append("\(file):\(number + 1) (\(pattern))")
                }
            }
        }
        #expect(offenders.isEmpty, "data dir paths built by hand: \(offenders)")
    }
}

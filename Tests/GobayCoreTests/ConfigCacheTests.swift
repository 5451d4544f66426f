import Foundation
@testable import GobayCore
import GobayTesting
import Testing

@Suite("the config cache: one project's lines of a large gobay.yml")
struct ConfigCacheTests {
    /// A config of `count` projects in block style, with sections before and after `projects:`.
    static func bigConfig(_ count: Int, branchOf: (Int) -> String = { _ in "main" }) -> String {
        var text = """
            # the team's build machine
            data_dir: /srv/gobay
            environments:
              go122:
                go: "1.22"
                env: { GOFLAGS: -mod=mod, GOPRIVATE: gitlab.example.com }
              go119: { go: "1.19", executor: sandbox }
            projects:

            """
        for i in 0..<count {
            text += """
                  svc-\(i):
                    repo: git@gitlab.example.com:team/svc-\(i).git
                    branch: \(branchOf(i))
                    environment: \(i % 2 == 0 ? "go122" : "go119")
                    env:
                      REGION: eu-\(i)
                    # the owners asked for tags too
                    tags: true

                """
        }
        text += """
            libraries:
              common:
                repo: git@gitlab.example.com:team/common.git
                import_path: gitlab.example.com/team/common
            server:
              listen: 127.0.0.1:9090
            """
        return text
    }

    func load(_ path: String, _ project: String, _ cache: ConfigCache) throws -> (GobayConfig, ConfigCache.Outcome?) {
        let (config, outcome) = try ConfigLoader.loadReporting(path: path, onlyProject: project, cache: cache)
        return (config, outcome)
    }

    @Test func aSecondLoadComposesOnlyTheProjectAndGivesTheSameConfig() throws {
        let box = try TestSandbox("config-cache")
        let path = try box.write("gobay.yml", Self.bigConfig(40))
        let cache = ConfigCache(directory: box.path + "/cache/gobay/config")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for project in ["svc-0", "svc-17", "svc-39"] {
            let whole = try ConfigLoader.parse(text, path: path, onlyProject: project)
            let (first, firstOutcome) = try load(path, project, cache)
            let (second, secondOutcome) = try load(path, project, cache)
            #expect(firstOutcome == .stored)
            #expect(secondOutcome == .hit)
            #expect(first == whole)
            #expect(second == whole)
            #expect(second.projects.map(\.name) == [project])
            #expect(second.libraries.map(\.name) == ["common"] && second.server.listen == "127.0.0.1:9090")
        }
        // The dir is the user's alone.
        var info = stat()
        #expect(lstat(cache.directory, &info) == 0 && info.st_mode & 0o777 == 0o700)
    }

    @Test func changedBytesAreReadWhole() throws {
        let box = try TestSandbox("config-cache")
        let path = try box.write("gobay.yml", Self.bigConfig(20))
        let cache = ConfigCache(directory: box.path + "/cache")
        _ = try load(path, "svc-5", cache)
        #expect(try load(path, "svc-5", cache).1 == .hit)
        // One byte in another project's lines, then in the project's own.
        _ = try box.write("gobay.yml", Self.bigConfig(20) { $0 == 6 ? "mainx" : "main" })
        let (other, otherOutcome) = try load(path, "svc-5", cache)
        #expect(otherOutcome == .stored && other.projects.first?.branch == "main")
        _ = try box.write("gobay.yml", Self.bigConfig(20) { $0 == 5 ? "release" : "main" })
        let (own, ownOutcome) = try load(path, "svc-5", cache)
        #expect(ownOutcome == .stored && own.projects.first?.branch == "release")
        // A mistake is reported from the whole file, at its line, whatever the cache holds.
        _ = try box.write("gobay.yml", Self.bigConfig(20) { $0 == 5 ? "$(id)..x" : "main" })
        #expect(throws: GobayError.self) { try load(path, "svc-5", cache) }
        do {
            _ = try load(path, "svc-5", cache)
        } catch let error as GobayError {
            #expect(error.message.contains("gobay.yml:") && error.message.contains("projects.svc-5.branch"), "\(error.message)")
        }
    }

    @Test func whatTheLineCutWouldChangeIsNeverCached() throws {
        let box = try TestSandbox("config-cache")
        let cache = ConfigCache(directory: box.path + "/cache")
        // An alias to an anchor in another project's lines: cut, the alias has nothing to name.
        let anchored = try box.write(
            "anchored.yml",
            """
            projects:
              a:
                repo: /srv/a
                branch: &release release-2026
              b:
                repo: /srv/b
                branch: *release
            """)
        for _ in 0..<2 {
            let (config, outcome) = try load(anchored, "b", cache)
            #expect(outcome == .notStored)
            #expect(config.projects.first?.branch == "release-2026")
        }
        // Flow style on one line: no lines to cut.
        let flow = try box.write("flow.yml", "projects: { a: { repo: /srv/a }, b: { repo: /srv/b, branch: dev } }\n")
        for _ in 0..<2 {
            let (config, outcome) = try load(flow, "b", cache)
            #expect(outcome == .notStored && config.projects.first?.branch == "dev")
        }
        // Without a cache nothing is kept.
        #expect(try ConfigLoader.loadReporting(path: flow, onlyProject: "b", cache: nil).outcome == nil)
    }

    @Test func entriesOthersCouldWriteOrAnotherGobayMadeAreIgnored() throws {
        let box = try TestSandbox("config-cache")
        let path = try box.write("gobay.yml", Self.bigConfig(10))
        let cache = ConfigCache(directory: box.path + "/cache")
        _ = try load(path, "svc-3", cache)
        let entries = try FileManager.default.contentsOfDirectory(atPath: cache.directory).filter { !$0.hasPrefix(".") }
        let entry = cache.directory + "/" + (try #require(entries.first))
        #expect(entries.count == 1)
        #expect(try load(path, "svc-3", cache).1 == .hit)

        // Writable by others: not read (and replaced by a private one).
        chmod(entry, 0o666)
        #expect(try load(path, "svc-3", cache).1 == .stored)
        #expect(try load(path, "svc-3", cache).1 == .hit)

        // Someone else's file.
        chown(entry, 65534, 65534)
        #expect(try load(path, "svc-3", cache).1 == .stored)

        // Made by another gobay binary, or not an entry at all.
        var made = try #require(ConfigCache.Entry(try String(contentsOfFile: entry, encoding: .utf8)))
        made.binary = "1-2.3"
        try made.text.write(toFile: entry, atomically: false, encoding: .utf8)
        #expect(try load(path, "svc-3", cache).1 == .stored)
        try "gobay config cache 1\nblank 1-x\n".write(toFile: entry, atomically: false, encoding: .utf8)
        #expect(try load(path, "svc-3", cache).1 == .stored)

        // A dir others may enter: no cache at all.
        chmod(cache.directory, 0o755)
        #expect(try load(path, "svc-3", cache).1 == .notStored)
        let (config, _) = try load(path, "svc-3", cache)
        #expect(config.projects.map(\.name) == ["svc-3"])
    }

    @Test func blankedLinesKeepTheirNumbers() {
        let text = "a\nb\nc\nd\ne"
        #expect(ConfigCache.reduced(text, blanking: [2...3]) == "a\n\n\nd\ne")
        #expect(ConfigCache.reduced(text, blanking: [1...1, 5...5]) == "\nb\nc\nd\n")
        #expect(ConfigCache.reduced(text, blanking: []) == text)
        let entry = ConfigCache.Entry(path: "/etc/gobay/gobay.yml", project: "api", digest: "ab", binary: "1-2.3", blank: [3...9, 12...40])
        #expect(ConfigCache.Entry(entry.text) == entry)
    }
}

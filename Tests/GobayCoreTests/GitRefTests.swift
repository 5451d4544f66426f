import GobayCore
import Testing

@Suite("refs, versions and go.mod")
struct GitRefTests {
    @Test(arguments: [
        "main", "master", "release/1.2", "feature/JIRA-12_x", "v1.2.0", "refs/heads/main", "refs/tags/v1", "a-b.c",
    ])
    func acceptsValidRefs(ref: String) {
        #expect(GitRef.problem(ref) == nil)
    }

    @Test(arguments: [
        "$(id)", "-x", "a..b", "", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b", "/a", "a/", "a.", "a//b",
        "a@{1}", "@", ".hidden", "a/.b", "x.lock", "a/b.lock/c", "`id`", "$(curl x|sh)", "a\u{7}b",
    ])
    func rejectsInvalidRefs(ref: String) throws {
        #expect(GitRef.problem(ref) != nil)
        #expect(throws: GobayError.self) { try GitRef.validate(ref) }
    }

    @Test func versionsParseAndOrder() throws {
        let v = try #require(GoVersion("go1.22.10"))
        #expect(v.description == "1.22.10")
        #expect(GoVersion("1.9.1")! < GoVersion("1.22")!)
        #expect(GoVersion("1.22")! < GoVersion("1.22.1")!)
        #expect(GoVersion("1.22")!.matches(GoVersion("1.22.10")!))
        #expect(!GoVersion("1.22.9")!.matches(GoVersion("1.22.10")!))
        #expect(GoVersion("1.21rc2")?.description == "1.21")
        #expect(GoVersion("banana") == nil)
        #expect(GoVersion("1") == nil)
    }

    @Test func goModRequiredVersion() {
        #expect(GoMod("module x\n\ngo 1.22\n").required?.description == "1.22")
        #expect(GoMod("module x\ngo 1.21.0\ntoolchain go1.22.3\n").required?.description == "1.22.3")
        #expect(GoMod("module x\n// go 1.99\n").required == nil)
    }
}

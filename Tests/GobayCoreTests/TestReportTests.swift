import Foundation
import GobayCore
import GobayTesting
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// `go test -json`: a summary in the build's record and a JUnit report among its artifacts.
@Suite("test reports")
struct TestReportTests {
    @Test func passingFailingAndSkippedTestsAreReported() throws {
        let world = try BuildWorld(
            label: "reports",
            extraProjects: """
                  reports-svc:
                    repo: repos/reports-svc
                    branch: main
                    test: true
                """)
        _ = try GitFixture(
            path: world.sandbox.path + "/repos/reports-svc", branch: "main",
            files: [
                "go.mod": "module ex.com/team/reports\n\ngo 1.22\n",
                "main.go": "package main\n\nfunc main() {}\n",
                "main_test.go": """
                    package main

                    import "testing"

                    func TestPass(t *testing.T) { t.Log("fine <&>") }

                    func TestFail(t *testing.T) { t.Error("boom \(UUID().uuidString.prefix(6))") }

                    func TestSkip(t *testing.T) { t.Skip("not today") }

                    """,
            ])
        let result = try world.gobay.run(["build", "reports-svc", "--json"])
        #expect(result.status == 1)
        let record = try world.decodeBuild(result.stdout)
        let tests = try #require(record.tests)
        #expect(tests == TestSummary(passed: 1, failed: 1, skipped: 1, failedTests: ["ex.com/team/reports.TestFail"]))
        // The test output streamed into the log line by line, not as one block at the end.
        #expect(result.stderr.contains("[test] === RUN   TestFail"), "\(result.stderr)")
        #expect(result.stderr.contains("1 passed, 1 failed, 1 skipped: ex.com/team/reports.TestFail"))
        let junit = try #require(record.artifacts.first { $0.name == "junit.xml" })
        let data = try #require(FileManager.default.contents(atPath: junit.path))
        let document = try XMLDocument(data: data)
        let cases = try document.nodes(forXPath: "//testcase").compactMap { ($0 as? XMLElement)?.attribute(forName: "name")?.stringValue }
        #expect(cases == ["TestPass", "TestFail", "TestSkip"])
        #expect(try document.nodes(forXPath: "//testcase[@name='TestFail']/failure").count == 1)
        #expect(try document.nodes(forXPath: "//testcase[@name='TestSkip']/skipped").count == 1)
        #expect(try document.nodes(forXPath: "/testsuites/@failures").first?.stringValue == "1")
        // The API and `builds --json` carry the summary.
        let listed = try world.gobay.run(["builds", "--json"])
        #expect(listed.stdout.contains("\"failed_tests\""), "\(listed.stdout)")
    }

    /// A package whose tests do not compile counts as one failure, named after the package.
    @Test func aPackageThatDoesNotBuildIsAFailure() throws {
        let world = try BuildWorld(label: "reports-broken")
        try world.modern.commit(["broken_test.go": "package main\n\nfunc TestBroken(t *testing.T) {}\n"], message: "broken")
        try world.editConfig("    branch: main\n", "    branch: main\n    test: true\n")
        let result = try world.gobay.run(["build", "modern-svc", "--json"])
        #expect(result.status == 1)
        let tests = try #require(try world.decodeBuild(result.stdout).tests, "\(result.stderr)")
        #expect(tests.failed == 1 && tests.failedTests == ["ex.com/team/modern-svc.(package)"], "\(tests)")
    }
}

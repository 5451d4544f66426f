import Foundation
import GobayCore
import GobayTesting
import Testing

/// build_tags, generate, test_flags and a project's own env: (with a value from gobay's environment).
@Suite("build options")
struct BuildOptionsTests {
    @Test func tagsGenerateTestFlagsAndProjectEnv() throws {
        let world = try BuildWorld(
            label: "options",
            extraProjects: """
                  options-svc:
                    repo: repos/options-svc
                    branch: main
                    test: true
                    build_tags: [special]
                    generate: true
                    test_flags: ["-run=TestRegion", "-count=1"]
                    env: { REGION: {env: GOBAY_TEST_REGION}, API_TOKEN: "opt-\(UUID().uuidString.prefix(8))" }
                """)
        _ = try GitFixture(
            path: world.sandbox.path + "/repos/options-svc", branch: "main",
            files: [
                "go.mod": "module ex.com/team/options\n\ngo 1.22\n",
                "main.go": "package main\n\nimport \"fmt\"\n\n//go:generate go run ./gen\n\nfunc main() { fmt.Println(flavor(), generated) }\n",
                "flavor_plain.go": "//go:build !special\n\npackage main\n\nfunc flavor() string { return \"plain\" }\n",
                "flavor_special.go": "//go:build special\n\npackage main\n\nfunc flavor() string { return \"special\" }\n",
                "gen/main.go": """
                    package main

                    import "os"

                    func main() {
                    \tos.WriteFile("generated.go", []byte("package main\\n\\nconst generated = \\"generated\\"\\n"), 0o644)
                    }

                    """,
                "options_test.go": """
                    package main

                    import (
                    \t"os"
                    \t"testing"
                    )

                    func TestRegion(t *testing.T) {
                    \tif os.Getenv("REGION") != "eu-north" || flavor() != "special" {
                    \t\tt.Fatalf("REGION=%q flavor=%q", os.Getenv("REGION"), flavor())
                    \t}
                    }

                    func TestSkippedByTestFlags(t *testing.T) { t.Fatal("test_flags -run should have skipped this") }

                    """,
            ])
        let check = try world.gobay.run(["config", "check"])
        #expect(check.stdout.contains("build_tags special (go -tags)"), "\(check.stdout)")
        #expect(check.stdout.contains("env REGION from $GOBAY_TEST_REGION"))
        #expect(check.stdout.contains("env API_TOKEN=***"))

        // Unset, the build refuses clearly.
        let unset = try world.gobay.run(["build", "options-svc", "--json"])
        #expect(unset.status == 1)
        #expect(unset.stderr.contains("projects.options-svc.env.REGION reads the environment variable GOBAY_TEST_REGION"), "\(unset.stderr)")

        var spec = world.gobay.spec(["build", "options-svc", "--json"])
        spec.environment["GOBAY_TEST_REGION"] = "eu-north"
        let (outcome, out, err) = try ProcessRunner.capture(spec, deadline: Date().addingTimeInterval(300))
        #expect(outcome.status == 0, "\(err)")
        let record = try world.decodeBuild(out)
        #expect(record.steps.map(\.name) == ["fetch", "deps", "generate", "test", "build", "artifacts"])
        #expect(err.contains("$ go test -json -tags=special -run=TestRegion -count=1 ./..."), "\(err)")
        let artifact = try #require(record.artifacts.first)
        #expect(try world.runBinary(artifact.path) == "special generated")
    }
}

import Foundation

/// What `go test -json` said: each test's outcome, for the build's summary and its JUnit report.
/// Output is passed on line by line as it comes, so the log shows a test run live.
final class GoTestReport {
    /// One test (or a package that failed without running any).
    struct Case {
        var package: String
        var name: String
        var outcome: String
        var seconds: Double
        var output: String
    }

    private(set) var cases: [Case] = []
    private var output: [String: String] = [:]
    private var packagesWithTests = Set<String>()
    private let onLine: (String) -> Void

    /// `onLine` receives every line of output (the tests' own, and anything that is not JSON).
    init(onLine: @escaping (String) -> Void) { self.onLine = onLine }

    private struct Event: Decodable {
        var Action: String
        var Package: String?
        var Test: String?
        var Output: String?
        var Elapsed: Double?
    }

    /// Takes one line of `go test -json` output.
    func feed(_ line: String) {
        guard line.hasPrefix("{"), let event = try? JSONDecoder().decode(Event.self, from: Data(line.utf8)) else {
            onLine(line)
            // Before Go 1.24 a package that does not build is reported in plain text only.
            let fields = line.split(separator: "\t")
            if fields.count >= 2, fields[0] == "FAIL", line.hasSuffix("[build failed]") || line.hasSuffix("[setup failed]") {
                let package = String(fields[1].split(separator: " ").first ?? fields[1])
                if !cases.contains(where: { $0.package == package && $0.name == "(package)" }) {
                    cases.append(Case(package: package, name: "(package)", outcome: "fail", seconds: 0, output: line + "\n"))
                }
            }
            return
        }
        let package = event.Package ?? ""
        switch event.Action {
        case "output", "build-output":
            guard let text = event.Output else { return }
            let trimmed = text.hasSuffix("\n") ? String(text.dropLast()) : text
            onLine(trimmed)
            if let test = event.Test { output[package + "\u{0}" + test, default: ""] += text }
            else { output[package, default: ""] += text }
        case "pass", "fail", "skip":
            if let test = event.Test {
                packagesWithTests.insert(package)
                cases.append(
                    Case(
                        package: package, name: test, outcome: event.Action, seconds: event.Elapsed ?? 0,
                        output: output.removeValue(forKey: package + "\u{0}" + test) ?? ""))
            } else if event.Action == "fail" && !packagesWithTests.contains(package)
                && !cases.contains(where: { $0.package == package && $0.name == "(package)" })
            {
                // A package that failed before any test ran (it did not compile, say).
                cases.append(
                    Case(package: package, name: "(package)", outcome: "fail", seconds: event.Elapsed ?? 0,
                         output: output[package] ?? ""))
            }
        default: break
        }
    }

    /// The counts and the failed tests' names (`package.Test`).
    var summary: TestSummary {
        TestSummary(
            passed: cases.filter { $0.outcome == "pass" }.count,
            failed: cases.filter { $0.outcome == "fail" }.count,
            skipped: cases.filter { $0.outcome == "skip" }.count,
            failedTests: cases.filter { $0.outcome == "fail" }.map { "\($0.package).\($0.name)" })
    }

    /// The report as JUnit XML, one `<testsuite>` per package; `mask` hides secrets in output.
    func junitXML(mask: (String) -> String) -> String {
        var packages: [String] = []
        for c in cases where !packages.contains(c.package) { packages.append(c.package) }
        let s = summary
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites tests=\"\(cases.count)\" failures=\"\(s.failed)\" skipped=\"\(s.skipped)\">\n"
        for package in packages {
            let inPackage = cases.filter { $0.package == package }
            let time = inPackage.reduce(0) { $0 + $1.seconds }
            xml += "  <testsuite name=\"\(Self.escape(package))\" tests=\"\(inPackage.count)\""
            xml += " failures=\"\(inPackage.filter { $0.outcome == "fail" }.count)\""
            xml += " skipped=\"\(inPackage.filter { $0.outcome == "skip" }.count)\" time=\"\(String(format: "%.3f", time))\">\n"
            for c in inPackage {
                xml += "    <testcase classname=\"\(Self.escape(package))\" name=\"\(Self.escape(c.name))\""
                xml += " time=\"\(String(format: "%.3f", c.seconds))\""
                switch c.outcome {
                case "fail":
                    xml += ">\n      <failure message=\"failed\">\(Self.escape(mask(c.output)))</failure>\n    </testcase>\n"
                case "skip":
                    xml += ">\n      <skipped message=\"\(Self.escape(mask(c.output.trimmingCharacters(in: .whitespacesAndNewlines))))\"/>\n    </testcase>\n"
                default:
                    xml += "/>\n"
                }
            }
            xml += "  </testsuite>\n"
        }
        return xml + "</testsuites>\n"
    }

    /// Text safe inside XML attributes and elements (control characters XML 1.0 forbids are dropped).
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\n", "\t", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value >= 0x20 && scalar.value != 0xFFFE && scalar.value != 0xFFFF { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}

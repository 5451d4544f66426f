import Foundation

/// Reads the version of the toolchain at a GOROOT.
public enum GorootProbe {
    /// The exact version of the GOROOT: from its VERSION file, else from `bin/go version`.
    public static func version(goroot: String) throws -> GoVersion {
        if let text = try? String(contentsOfFile: goroot + "/VERSION", encoding: .utf8),
            let first = text.split(separator: "\n").first, first.hasPrefix("go"),
            let version = GoVersion(String(first)), version.patch != nil
        {
            return version
        }
        let go = goroot + "/bin/go"
        guard FileManager.default.isExecutableFile(atPath: go) else {
            throw GobayError(
                "\(goroot) is not a GOROOT: \(go) is missing", hint: "pass the directory that holds bin/go")
        }
        let result = try ProcessRunner.capture(
            ProcessSpec(
                [go, "version"],
                environment: ["GOROOT": goroot, "PATH": "/usr/bin:/bin", "GOTOOLCHAIN": "local", "HOME": "/tmp"]),
            deadline: Date().addingTimeInterval(30))
        // "go version go1.19.8 linux/amd64"
        let words = result.stdout.split(separator: " ")
        guard result.outcome.succeeded, words.count >= 3, let version = GoVersion(String(words[2])) else {
            throw GobayError(
                "\(go) version failed: \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))",
                hint: "check that \(goroot) holds a working Go toolchain")
        }
        return version
    }
}

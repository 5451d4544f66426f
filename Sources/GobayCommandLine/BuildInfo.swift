import Foundation

/// gobay's version, and the commit it was built from when scripts/build-release recorded it
/// (`gobay.buildinfo` beside the binary, or `../share/gobay/buildinfo` once installed).
public enum BuildInfo {
    /// The release version.
    public static let version = "0.1.0"

    /// `0.1.0 (commit 0123abcd4567)`, or just the version when no commit was recorded.
    public static var versionLine: String {
        guard let commit else { return version }
        return "\(version) (commit \(commit))"
    }

    /// The recorded commit, if any.
    static var commit: String? {
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        let dir = executable.deletingLastPathComponent()
        for candidate in [dir.appendingPathComponent("gobay.buildinfo"), dir.appendingPathComponent("../share/gobay/buildinfo")] {
            if let text = try? String(contentsOf: candidate, encoding: .utf8) {
                let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if !line.isEmpty { return line }
            }
        }
        return nil
    }
}

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
        // The binary itself, symlinks resolved, in one readlink (argv[0] may be a bare name
        // found on the PATH); every command reads this, so it stays cheap.
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first ?? ""
        let dir = (executable as NSString).deletingLastPathComponent
        for candidate in [dir + "/gobay.buildinfo", dir + "/../share/gobay/buildinfo"] {
            if let data = FileManager.default.contents(atPath: candidate) {
                let line = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if !line.isEmpty { return line }
            }
        }
        return nil
    }
}

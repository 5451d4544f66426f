import Foundation

/// A Go release version such as 1.22.10, ordered the way Go orders releases.
public struct GoVersion: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// The major version, 1 for every Go release so far.
    public var major: Int
    /// The minor version: 22 in 1.22.10.
    public var minor: Int
    /// The patch version: 10 in 1.22.10; nil when the text named only major.minor.
    public var patch: Int?

    /// Creates a version from its parts.
    public init(major: Int, minor: Int, patch: Int?) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Parses "1.22", "1.22.10", "go1.22.10" or "1.21rc2" (pre-releases count as patch 0).
    public init?(_ text: String) {
        var s = Substring(text.trimmingCharacters(in: .whitespaces))
        if s.hasPrefix("go") { s = s.dropFirst(2) }
        if let cut = s.firstIndex(where: { !$0.isNumber && $0 != "." }) { s = s[..<cut] }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count >= 2, parts.count <= 3, parts.allSatisfy({ $0 != nil }),
            let major = parts[0], let minor = parts[1]
        else { return nil }
        self.init(major: major, minor: minor, patch: parts.count == 3 ? parts[2] : nil)
    }

    /// "1.22.10", or "1.22" when no patch was given.
    public var description: String {
        if let patch { return "\(major).\(minor).\(patch)" }
        return "\(major).\(minor)"
    }

    /// Whether `other` satisfies this version as a request: "1.22" matches any 1.22.x,
    /// "1.22.10" only itself.
    public func matches(_ other: GoVersion) -> Bool {
        guard major == other.major, minor == other.minor else { return false }
        guard let patch else { return true }
        return patch == (other.patch ?? 0)
    }

    public static func < (lhs: GoVersion, rhs: GoVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch ?? 0) < (rhs.major, rhs.minor, rhs.patch ?? 0)
    }

    public static func == (lhs: GoVersion, rhs: GoVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch ?? 0) == (rhs.major, rhs.minor, rhs.patch ?? 0)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(major)
        hasher.combine(minor)
        hasher.combine(patch ?? 0)
    }
}

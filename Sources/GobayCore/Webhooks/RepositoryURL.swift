import Foundation
import Synchronization

/// Puts repository URLs in one canonical spelling, so that a webhook's URLs can be matched
/// against a project's `repo:` however either of them is written.
public enum RepositoryURL {
    /// Counts normalisations for the task that sets it (and its child tasks): a delivery must
    /// cost a handful, however many projects there are (theirs are normalised once, in
    /// `RepositoryIndex`).
    @TaskLocal public static var counter: Counter?

    /// A count of normalisations.
    public final class Counter: Sendable {
        private let count = Atomic<Int>(0)
        /// A counter at zero.
        public init() {}
        /// The normalisations counted so far.
        public var value: Int { count.load(ordering: .relaxed) }
        func add() { count.add(1, ordering: .relaxed) }
    }

    /// `host/path` for a remote URL, or the absolute path for a local one.
    ///
    /// Remote: the scheme, `user@` or `user:pass@`, a trailing `/` and `.git` go, the host is lowercased,
    /// and scp-like `git@host:group/repo.git` becomes `host/group/repo`. A numeric port goes from ssh
    /// URLs (the same repo is served on 22 and on a forge's own ssh port); from other URLs only the
    /// scheme's default port goes, since another port may be another server. Local: a path or
    /// `file://` URL becomes an absolute path with `.`, `..` and repeated slashes resolved, without
    /// touching the disk; a relative path is resolved against the current directory.
    public static func normalize(_ url: String) -> String {
        counter?.add()
        let text = url.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return "" }
        if let schemeEnd = text.range(of: "://") {
            let scheme = text[..<schemeEnd.lowerBound].lowercased()
            let rest = String(text[schemeEnd.upperBound...])
            if scheme == "file" {
                let path = rest.hasPrefix("localhost/") ? String(rest.dropFirst("localhost".count)) : rest
                return standardizedPath(path)
            }
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            let authority = String(rest[..<slash])
            let host = hostAndPort(authority, scheme: scheme)
            return remote(host: host, path: String(rest[slash...]))
        }
        if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/") {
            // scp-like `[user@]host:path`, as git reads it: a colon before any slash.
            let authority = String(text[..<colon])
            let host = hostAndPort(authority, scheme: "ssh")
            return remote(host: host, path: String(text[text.index(after: colon)...]))
        }
        return standardizedPath(text)
    }

    /// Whether `a` and `b` name the same repository; empty strings name none.
    public static func same(_ a: String, _ b: String) -> Bool {
        let left = normalize(a)
        return !left.isEmpty && left == normalize(b)
    }

    /// The lowercased host of an authority, without user info and without a port that says nothing.
    static func hostAndPort(_ authority: String, scheme: String) -> String {
        var host = authority
        if let at = host.lastIndex(of: "@") { host = String(host[host.index(after: at)...]) }
        host = host.lowercased()
        // An IPv6 literal keeps its colons inside the brackets.
        let portSearchStart = host.lastIndex(of: "]") ?? host.startIndex
        guard let colon = host[portSearchStart...].lastIndex(of: ":") else { return host }
        let port = host[host.index(after: colon)...]
        let name = String(host[..<colon])
        if port.isEmpty { return name }
        guard port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return host }
        let defaults = ["http": "80", "https": "443", "git": "9418", "ssh": "22"]
        if scheme.contains("ssh") || defaults[scheme] == String(port) { return name }
        return host
    }

    /// `host/path` with repeated, leading and trailing slashes and a trailing `.git` removed.
    static func remote(host: String, path: String) -> String {
        var parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if let last = parts.last, last.hasSuffix(".git") {
            let stem = String(last.dropLast(".git".count))
            if stem.isEmpty { parts.removeLast() } else { parts[parts.count - 1] = stem }
        }
        return ([host] + parts).joined(separator: "/")
    }

    /// An absolute path with `.`, `..` and repeated or trailing slashes resolved lexically.
    static func standardizedPath(_ path: String) -> String {
        var absolute = path
        if absolute.hasPrefix("~/") || absolute == "~" {
            absolute = NSHomeDirectory() + absolute.dropFirst()
        } else if !absolute.hasPrefix("/") {
            absolute = FileManager.default.currentDirectoryPath + "/" + absolute
        }
        var parts: [Substring] = []
        for part in absolute.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }
}

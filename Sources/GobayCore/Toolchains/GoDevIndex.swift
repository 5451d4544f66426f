import Foundation

/// The JSON index a go.dev-style site serves at `?mode=json&include=all`.
public struct GoDevIndex: Sendable {
    /// One release in the index.
    public struct Release: Decodable, Sendable {
        /// "go1.22.10".
        public var version: String
        /// Whether it is a stable release.
        public var stable: Bool?
        /// Its downloadable files.
        public var files: [File]
    }

    /// One downloadable file of a release.
    public struct File: Decodable, Sendable {
        /// The file name, appended to the mirror URL to download it.
        public var filename: String
        /// GOOS, empty for the source archive.
        public var os: String
        /// GOARCH, empty for the source archive.
        public var arch: String
        /// "go1.22.10".
        public var version: String
        /// The hex SHA-256 of the file.
        public var sha256: String
        /// The size in bytes.
        public var size: Int64?
        /// "archive", "installer" or "source".
        public var kind: String
    }

    /// All releases listed.
    public var releases: [Release]

    /// GOARCH of this machine.
    public static var hostArch: String {
        var info = utsname()
        uname(&info)
        let machine = withUnsafeBytes(of: &info.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        switch machine {
        case "x86_64": return "amd64"
        case "aarch64", "arm64": return "arm64"
        case "i386", "i686": return "386"
        default: return machine
        }
    }

    /// Reads the index from `mirror`.
    public static func load(mirror: String) async throws -> GoDevIndex {
        guard let url = URL(string: mirror + "?mode=json&include=all") else {
            throw GobayError("bad mirror URL \(mirror)", hint: "set toolchains.mirror to e.g. https://go.dev/dl/")
        }
        let data = try await HTTPDownloader.fetch(url)
        do {
            return GoDevIndex(releases: try JSONDecoder().decode([Release].self, from: data))
        } catch {
            throw GobayError.failure(
                "\(url.absoluteString) did not return a go.dev JSON index: \(error)",
                hint: "set toolchains.mirror (or --mirror) to a site with go.dev/dl's layout")
        }
    }

    /// The newest archive for `os`/`arch` whose version matches `request`.
    public func newestArchive(matching request: GoVersion, os: String, arch: String) throws -> File {
        let candidates = releases.flatMap(\.files).filter { file in
            guard file.kind == "archive", file.os == os, file.arch == arch, let v = GoVersion(file.version) else {
                return false
            }
            // Skip pre-releases unless asked for exactly.
            let isRelease = file.version.range(of: "^go[0-9]+\\.[0-9]+(\\.[0-9]+)?$", options: .regularExpression) != nil
            return isRelease && request.matches(v)
        }
        let newest = candidates.compactMap { file in GoVersion(file.version).map { (file, $0) } }.max { $0.1 < $1.1 }
        guard let best = newest?.0 else {
            throw GobayError(
                "no Go \(request) archive for \(os)-\(arch) in the index",
                hint: "check the version, or try `--source pip`")
        }
        return best
    }
}

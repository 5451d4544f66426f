import Foundation
import Yams

/// Remembers which lines of a config hold the projects a command does not need, so that
/// `gobay build P` at a thousand projects composes P's lines and the top-level sections
/// (about 1 ms) instead of the whole file (about 18 ms).
///
/// An entry is keyed by the config's path and the project, and holds the config's sha256, the
/// gobay binary it was made by, and the line ranges to blank. It is written only after the
/// reduced text was parsed and gave the very config the whole file gave, so anchors, flow
/// style or anything else the line cut could change simply leaves no entry. Entries live in
/// the user's cache dir (`$XDG_CACHE_HOME/gobay/config` or `~/.cache/gobay/config`, mode 0700),
/// are read only when the file and the dir are the user's own and not writable by others, and
/// are removed 30 days after their last use.
public struct ConfigCache: Sendable {
    /// What a load did with the cache.
    public enum Outcome: Sendable, Equatable {
        /// The entry matched: only the reduced text was parsed.
        case hit
        /// No usable entry; the whole file was parsed and an entry written.
        case stored
        /// No usable entry, and none written (the line cut did not give the same config).
        case notStored
    }

    /// The directory holding the entries.
    public let directory: String

    /// A cache in `directory`.
    public init(directory: String) { self.directory = directory }

    /// The user's cache, or nil when there is no home to keep it in.
    public static func user(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> ConfigCache? {
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            return ConfigCache(directory: xdg + "/gobay/config")
        }
        guard let home = environment["HOME"], home.hasPrefix("/"), home != "/" else { return nil }
        return ConfigCache(directory: home + "/.cache/gobay/config")
    }

    /// The lines to blank for `project`, if an entry for these exact bytes exists.
    func lookup(path: String, project: String, digest: String) -> [ClosedRange<Int>]? {
        guard directoryIsPrivate(create: false) else { return nil }
        let file = entryPath(path: path, project: project)
        let fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == geteuid(),
            info.st_mode & 0o022 == 0, info.st_size < 64 * 1024
        else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        guard read(fd, &bytes, bytes.count) == bytes.count else { return nil }
        guard let entry = Entry(String(decoding: bytes, as: UTF8.self)), entry.path == path, entry.project == project,
            entry.digest == digest, entry.binary == Self.binaryStamp
        else { return nil }
        // Used today: kept another 30 days.
        if Date().timeIntervalSince1970 - Double(info.st_mtim.tv_sec) > 86_400 { futimens(fd, nil) }
        return entry.blank
    }

    /// Writes the entry for `project`; false when it could not (a cache that cannot be written
    /// is no error).
    func store(path: String, project: String, digest: String, blank: [ClosedRange<Int>]) -> Bool {
        guard directoryIsPrivate(create: true) else { return false }
        let entry = Entry(path: path, project: project, digest: digest, binary: Self.binaryStamp, blank: blank)
        guard AtomicFile.writeCache(entry.text, to: entryPath(path: path, project: project)) else { return false }
        trimOld()
        return true
    }

    private func entryPath(path: String, project: String) -> String {
        directory + "/" + FileDigest.sha256(data: Data((path + "\0" + project).utf8))
    }

    /// The dir exists (or was made), is ours, is a real dir and no one else may enter it.
    private func directoryIsPrivate(create: Bool) -> Bool {
        var info = stat()
        if lstat(directory, &info) != 0 {
            guard create, errno == ENOENT else { return false }
            let parent = (directory as NSString).deletingLastPathComponent
            try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            guard mkdir(directory, 0o700) == 0 || errno == EEXIST, lstat(directory, &info) == 0 else { return false }
        }
        return (info.st_mode & S_IFMT) == S_IFDIR && info.st_uid == geteuid() && info.st_mode & 0o077 == 0
    }

    /// Once a day: removes entries not used for 30 days (configs moved, projects renamed).
    private func trimOld() {
        let marker = directory + "/.trimmed"
        let now = Date().timeIntervalSince1970
        var info = stat()
        if lstat(marker, &info) == 0, now - Double(info.st_mtim.tv_sec) < 86_400 { return }
        let fd = open(marker, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if fd >= 0 {
            futimens(fd, nil)
            close(fd)
        }
        for entry in (try? DirectoryEntries.list(directory)) ?? [] where !entry.name.hasPrefix(".") {
            let file = directory + "/" + entry.name
            if lstat(file, &info) == 0, now - Double(info.st_mtim.tv_sec) > 30 * 86_400 { unlink(file) }
        }
    }

    /// The gobay binary's size and mtime: an entry made by another build of gobay (whose parser
    /// may read the reduced text differently) is not used.
    static let binaryStamp: String = {
        var info = stat()
        guard stat("/proc/self/exe", &info) == 0 else { return "unknown" }
        return "\(info.st_size)-\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
    }()

    /// One entry's text: a header line, then one `key value` line each.
    struct Entry: Equatable {
        static let header = "gobay config cache 1"
        var path: String
        var project: String
        var digest: String
        var binary: String
        var blank: [ClosedRange<Int>]

        init(path: String, project: String, digest: String, binary: String, blank: [ClosedRange<Int>]) {
            (self.path, self.project, self.digest, self.binary, self.blank) = (path, project, digest, binary, blank)
        }

        init?(_ text: String) {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            guard lines.count >= 6, lines[0] == Self.header else { return nil }
            var fields: [Substring: Substring] = [:]
            for line in lines.dropFirst() where !line.isEmpty {
                guard let space = line.firstIndex(of: " ") else { return nil }
                fields[line[..<space]] = line[line.index(after: space)...]
            }
            guard let path = fields["path"], let project = fields["project"], let digest = fields["sha256"],
                let binary = fields["binary"], let blank = fields["blank"]
            else { return nil }
            var ranges: [ClosedRange<Int>] = []
            for part in blank.split(separator: " ") {
                let ends = part.split(separator: "-")
                guard ends.count == 2, let low = Int(ends[0]), let high = Int(ends[1]), low >= 1, low <= high else {
                    return nil
                }
                ranges.append(low...high)
            }
            self.init(
                path: String(path), project: String(project), digest: String(digest), binary: String(binary), blank: ranges)
        }

        var text: String {
            let ranges = blank.map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: " ")
            return "\(Self.header)\npath \(path)\nproject \(project)\nsha256 \(digest)\nbinary \(binary)\nblank \(ranges)\n"
        }
    }

    /// `text` with the lines in `blank` (1-based) emptied; every other line keeps its number,
    /// so a message about the reduced text names the same line as one about the file.
    static func reduced(_ text: String, blanking blank: [ClosedRange<Int>]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var line = 1
        var ranges = blank[...]
        for byte in text.utf8 {
            while let first = ranges.first, first.upperBound < line { ranges = ranges.dropFirst() }
            let blanked = ranges.first.map { $0.contains(line) } ?? false
            if byte == UInt8(ascii: "\n") {
                out.append(byte)
                line += 1
            } else if !blanked {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The lines holding every project but `project`, from the composed document's marks; nil
    /// when the projects are not one per block of lines (flow style on one line, say).
    static func otherProjects(in root: Node, keeping project: String, lineCount: Int) -> [ClosedRange<Int>]? {
        guard case .mapping(let top) = root else { return nil }
        let keys = Array(top.keys)
        guard let index = keys.firstIndex(where: { $0.string == "projects" }), let projectsLine = keys[index].mark?.line,
            case .mapping(let projects)? = top[keys[index]]
        else { return nil }
        // The block ends where the next top-level key starts, or with the file.
        var end = lineCount
        if index + 1 < keys.count {
            guard let next = keys[index + 1].mark?.line else { return nil }
            end = next - 1
        }
        var starts: [(name: String, line: Int)] = []
        for key in projects.keys {
            guard let name = key.string, let line = key.mark?.line else { return nil }
            if let last = starts.last, line <= last.line { return nil }
            starts.append((name, line))
        }
        guard let first = starts.first, first.line > projectsLine, starts.last.map({ $0.line <= end }) ?? false,
            let kept = starts.firstIndex(where: { $0.name == project })
        else { return nil }
        let keptFrom = starts[kept].line
        let keptTo = kept + 1 < starts.count ? starts[kept + 1].line - 1 : end
        var blank: [ClosedRange<Int>] = []
        if first.line < keptFrom { blank.append(first.line...(keptFrom - 1)) }
        if keptTo < end { blank.append((keptTo + 1)...end) }
        return blank
    }
}

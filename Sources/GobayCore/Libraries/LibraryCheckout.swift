import CGobay
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One environment's checkout of a shared library at `gopath/src/<import_path>`. A new commit
/// is copied beside the old tree and exchanged with it in one step (`renameat2`
/// `RENAME_EXCHANGE`), so a reader finds the old tree or the new one, never a mix and never
/// nothing. The commit is recorded inside the tree, in the same step.
public struct LibraryCheckout: Sendable {
    /// The library.
    public let library: String
    /// `gopath/src/<import_path>` of the environment.
    public let path: String

    /// The file inside the tree naming the library and the commit it holds (Go ignores names
    /// starting with '.').
    static let markerName = ".gobay-library"

    /// The checkout of `library` in environment directory `env`.
    public init(library: LibraryConfig, environment env: EnvironmentDirectory) {
        self.library = library.name
        self.path = env.library(importPath: library.importPath)
    }

    /// What the checkout holds.
    public struct State: Sendable, Equatable {
        /// The commit.
        public var commit: String
        /// When it was placed.
        public var updatedAt: Date
    }

    /// The commit the tree holds and when it was placed; nil when there is no checkout (or one
    /// gobay did not place).
    public func state() -> State? {
        let marker = path + "/" + Self.markerName
        guard let text = try? String(contentsOfFile: marker, encoding: .utf8) else { return nil }
        let parts = text.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard parts.count == 2, parts[0] == library, GitRef.isCommitID(parts[1]), parts[1].count == 40 else { return nil }
        var info = stat()
        guard lstat(marker, &info) == 0 else { return nil }
        let mtime = Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec) + TimeInterval(info.st_mtim.tv_nsec) / 1e9)
        return State(commit: parts[1], updatedAt: mtime)
    }

    /// Copies (or, with `link`, hard-links) the clean tree `source` of `commit` beside the
    /// checkout: the staged tree, ready to be swapped in. Leftovers of an update that was killed
    /// are removed first.
    func stage(from source: String, commit: String, parentOwner: ProcessUser?, link: Bool) throws -> String {
        let parent = (path as NSString).deletingLastPathComponent
        try Ownership.makeDirectories(parent, owner: parentOwner)
        removeLeftovers()
        let staged = parent + "/" + stagePrefix + UUID().uuidString
        do {
            try TreeCopy.copy(source, to: staged, link: link, skipping: [".git"])
            let marker = Data("\(library) \(commit)\n".utf8)
            guard FileManager.default.createFile(atPath: staged + "/" + Self.markerName, contents: marker) else {
                throw GobayError.failure("cannot write \(staged)/\(Self.markerName)", hint: "check free disk space")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: staged)
            throw error
        }
        return staged
    }

    /// Puts the staged tree in place in one step; the old tree, if any, ends up at the staged
    /// path, to be removed with `discard`.
    func swap(in staged: String) throws {
        if FileManager.default.fileExists(atPath: path) || (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil {
            let result = cgobay_rename_exchange(staged, path)
            guard result == 0 else {
                throw GobayError.failure("cannot swap in \(path): \(String(cString: strerror(-result)))")
            }
        } else {
            guard rename(staged, path) == 0 else {
                throw GobayError.failure("cannot place \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Removes what `swap` left at the staged path (the old tree).
    func discard(_ staged: String) {
        try? FileManager.default.removeItem(atPath: staged)
    }

    private var stagePrefix: String { ".gobay-library-\(library)-" }

    /// Removes staged or old trees an update killed halfway left beside the checkout.
    func removeLeftovers() {
        let parent = (path as NSString).deletingLastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        for name in names where name.hasPrefix(stagePrefix) {
            try? FileManager.default.removeItem(atPath: parent + "/" + name)
        }
    }
}

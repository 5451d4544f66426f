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
    /// The environment's directory: below it, where steps write, no link is followed.
    let environmentDir: String

    /// The file inside the tree naming the library and the commit it holds (Go ignores names
    /// starting with '.').
    static let markerName = ".gobay-library"

    /// The checkout of `library` in environment directory `env`.
    public init(library: LibraryConfig, environment env: EnvironmentDirectory) {
        self.library = library.name
        self.path = env.library(importPath: library.importPath)
        self.environmentDir = env.path
    }

    /// A tree staged beside the checkout: an entry of the checkout's parent directory as opened
    /// (see `PlacementDirectory`), wherever that directory's path leads by the time it is swapped in.
    struct Staged: Sendable {
        let place: PlacementDirectory
        let name: String
        var path: String { place.path + "/" + name }
    }

    /// The checkout's parent in the GOPATH (where steps write), reached without following a link.
    private func parentDirectory(owner: ProcessUser?, create: Bool = true) throws -> PlacementDirectory {
        try PlacementDirectory((path as NSString).deletingLastPathComponent, anchor: environmentDir, owner: owner, create: create)
    }

    /// What the checkout holds.
    public struct State: Sendable, Equatable {
        /// The commit.
        public var commit: String
        /// When it was placed.
        public var updatedAt: Date
    }

    /// The commit the tree holds and when it was placed; nil when there is no checkout (or one
    /// gobay did not place). The checkout is in a GOPATH steps can write: it and its marker are
    /// reached without following a link, and the marker read only as a regular file (a fifo in
    /// its place must not hang gobay).
    public func state() -> State? {
        guard let checkout = try? PlacementDirectory(path, anchor: environmentDir, owner: nil, create: false),
            let (data, info) = checkout.readRegularFileAndStat(Self.markerName)
        else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(separator: " ")
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard parts.count == 2, parts[0] == library, GitRef.isCommitID(parts[1]), parts[1].count == 40 else { return nil }
        let mtime = Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec) + TimeInterval(info.st_mtim.tv_nsec) / 1e9)
        return State(commit: parts[1], updatedAt: mtime)
    }

    /// Copies (or, with `link`, hard-links) the clean tree `source` of `commit` beside the
    /// checkout: the staged tree, ready to be swapped in. Leftovers of an update that was killed
    /// are removed first.
    func stage(from source: String, commit: String, parentOwner: ProcessUser?, link: Bool) throws -> Staged {
        let place = try parentDirectory(owner: parentOwner)
        removeLeftovers(in: place)
        let staged = Staged(place: place, name: stagePrefix + UUID().uuidString)
        do {
            try TreeCopy.copy(source, to: staged.path, link: link, skipping: [".git"])
            let marker = Data("\(library) \(commit)\n".utf8)
            guard FileManager.default.createFile(atPath: staged.path + "/" + Self.markerName, contents: marker) else {
                throw GobayError.failure("cannot write \(path)'s staged \(Self.markerName)", hint: "check free disk space")
            }
        } catch {
            discard(staged)
            throw error
        }
        return staged
    }

    /// Puts the staged tree in place in one step; the old tree, if any, ends up at the staged
    /// path, to be removed with `discard`.
    func swap(in staged: Staged) throws {
        let name = (path as NSString).lastPathComponent
        let fd = staged.place.descriptor
        var info = stat()
        if fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 {
            let result = cgobay_rename_exchange_at(fd, staged.name, name)
            guard result == 0 else {
                throw GobayError.failure("cannot swap in \(path): \(String(cString: strerror(-result)))")
            }
        } else {
            guard renameat(fd, staged.name, fd, name) == 0 else {
                throw GobayError.failure("cannot place \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Removes what `swap` left at the staged path (the old tree).
    func discard(_ staged: Staged) {
        DirectoryEntries.remove(staged.name, in: staged.place.descriptor, listedAsDirectory: false)
    }

    private var stagePrefix: String { ".gobay-library-\(library)-" }

    /// Removes staged or old trees an update killed halfway left beside the checkout.
    func removeLeftovers() {
        guard let place = try? parentDirectory(owner: nil, create: false) else { return }
        removeLeftovers(in: place)
    }

    private func removeLeftovers(in place: PlacementDirectory) {
        for entry in (try? DirectoryEntries.list(fd: place.descriptor, path: place.shownAs)) ?? [] where entry.name.hasPrefix(stagePrefix) {
            DirectoryEntries.remove(entry.name, in: place.descriptor, listedAsDirectory: entry.isDirectory)
        }
    }
}

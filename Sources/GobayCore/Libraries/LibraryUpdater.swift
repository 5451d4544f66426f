import Foundation

/// Brings a shared library's checkouts up to date: one `git fetch` into the library's mirror,
/// one clean tree per commit, then every environment in parallel, each swapped in one step
/// under that environment's GOPATH write lock (which waits for the builds reading the tree, and
/// makes new builds wait). Updates of one library run one at a time, across processes.
public struct LibraryUpdater: Sendable {
    /// The config naming the libraries and environments.
    public let config: GobayConfig
    /// Where command pins live.
    public let database: AppDatabase

    /// An updater for `config`.
    public init(config: GobayConfig, database: AppDatabase) {
        self.config = config
        self.database = database
    }

    /// A pin and where it was set.
    public struct Pin: Sendable, Codable, Equatable {
        /// The commit as given (full or abbreviated).
        public var commit: String
        /// `command` (gobay lib pin) or `config` (gobay.yml).
        public var source: String

        /// A pin of `commit` set by `source`.
        public init(commit: String, source: String) {
            self.commit = commit
            self.source = source
        }
    }

    /// What an update did in one environment.
    public struct Change: Sendable, Codable, Equatable {
        /// The environment.
        public var environment: String
        /// The commit it held before; nil when it held none.
        public var from: String?
        /// The commit it holds now.
        public var to: String
        /// The pin it follows, if any.
        public var pin: Pin?
        /// Whether the tree was replaced.
        public var changed: Bool
    }

    /// The pin that holds `library` in `environment`: a command pin wins over gobay.yml's.
    public func pin(_ library: LibraryConfig, environment: String, commandPins: [AppDatabase.LibraryPin]) -> Pin? {
        if let pin = commandPins.first(where: { $0.library == library.name && $0.environment == environment }) {
            return Pin(commit: pin.commit, source: "command")
        }
        return library.pins[environment].map { Pin(commit: $0, source: "config") }
    }

    /// The environments of `library` an update touches: `only`, checked, or all it lists.
    public func environments(of library: LibraryConfig, only: [String]?) throws -> [String] {
        guard let only else { return library.environmentNames(in: config) }
        for name in only {
            _ = try config.environment(name)
            guard library.lists(name, in: config) else {
                throw GobayError(
                    "library \"\(library.name)\" is not placed in environment \"\(name)\"",
                    hint: "its environments: \(library.environmentNames(in: config).joined(separator: ", ")); "
                        + "add \(name) to libraries.\(library.name).environments in \(config.path)",
                    kind: .unprocessable)
            }
        }
        return only
    }

    /// Updates `library` in `only` (default: every environment it lists) to its branch head, or
    /// to each environment's pin. Fetches first; an unreachable repository touches nothing.
    /// `deadline` bounds the waits for locks; nil waits as long as it takes.
    @discardableResult
    public func update(
        _ library: LibraryConfig, environments only: [String]? = nil, deadline: Date? = nil,
        log: (@Sendable (String) -> Void)? = nil
    ) async throws -> [Change] {
        let names = try environments(of: library, only: only)
        if names.isEmpty { return [] }
        let data = config.data
        let libraryLock = try FileLock(path: data.libraryLock(library.name))
        if !libraryLock.tryLockExclusive() {
            log?("waiting for another update of library \(library.name)")
            guard await libraryLock.lock(shared: false, deadline: deadline) else { throw waitEnded(library) }
        }
        defer { libraryLock.unlock() }

        let mirror = GitMirror(url: library.repo, dataDir: config.dataDir)
        let commandPins = try database.libraryPins()
        let (config, lib) = (self.config, library)
        let pins = Dictionary(uniqueKeysWithValues: names.map { ($0, pin(library, environment: $0, commandPins: commandPins)) })
        // Every commit is resolved before anything is touched: a bad pin or an unreachable
        // repository changes no environment.
        let targets: [String: String] = try await BlockingThread.run("gobay-library-fetch") {
            do {
                try mirror.update()
            } catch let error as GobayError {
                throw GobayError(
                    "library \"\(lib.name)\": \(SecretMask.urlPasswords(error.message))",
                    hint: "check libraries.\(lib.name).repo in \(config.path); no environment was changed", kind: .upstream)
            }
            let head = try lib.branch ?? mirror.defaultBranch()
            let headCommit = try mirror.resolve(ref: head)
            var targets: [String: String] = [:]
            for name in names {
                guard let pin = pins[name] ?? nil else {
                    targets[name] = headCommit
                    continue
                }
                do {
                    targets[name] = try mirror.resolve(commit: pin.commit)
                } catch {
                    let from = pin.source == "config" ? "libraries.\(lib.name).pin.\(name) in \(config.path)" : "`gobay lib pin`"
                    throw GobayError(
                        "library \"\(lib.name)\": environment \(name) is pinned to \(pin.commit) (\(from)), which is not in \(lib.repo)",
                        hint: "pin a commit of the library's repository, or release it with `gobay lib unpin \(lib.name) --env \(name)`",
                        kind: .unprocessable)
                }
            }
            for commit in Set(targets.values) { try Self.cleanTree(lib, commit: commit, mirror: mirror, data: data) }
            return targets
        }

        let changes = try await withThrowingTaskGroup(of: Change.self) { group in
            for name in names {
                guard let commit = targets[name] else { continue }
                let pin = pins[name] ?? nil
                group.addTask {
                    try await updateEnvironment(lib, name, commit: commit, pin: pin, deadline: deadline, log: log)
                }
            }
            var changes: [Change] = []
            for try await change in group { changes.append(change) }
            return changes.sorted { names.firstIndex(of: $0.environment) ?? 0 < names.firstIndex(of: $1.environment) ?? 0 }
        }
        Self.dropUnusedTrees(lib, keeping: Set(targets.values), data: data)
        return changes
    }

    /// Stages the tree of `commit` beside the environment's checkout, then swaps it in under the
    /// environment's GOPATH write lock, held only for the swap.
    private func updateEnvironment(
        _ library: LibraryConfig, _ name: String, commit: String, pin: Pin?, deadline: Date?,
        log: (@Sendable (String) -> Void)?
    ) async throws -> Change {
        let layout = config.data.environmentLayout(name)
        let checkout = LibraryCheckout(library: library, environment: layout)
        let before = checkout.state()?.commit
        if before == commit {
            // An update killed after its swap left the old tree beside the checkout: it goes
            // now, not at the next commit.
            try? await BlockingThread.run("gobay-library-leftovers") { checkout.removeLeftovers() }
            return Change(environment: name, from: before, to: commit, pin: pin, changed: false)
        }
        let owner = parentOwner(name)
        // Hard links to the clean tree cost a twentieth of copies, where they are safe.
        let link = Ownership.mayLinkGobayFiles(to: owner)
        let source = config.data.libraryTree(library.name, commit: commit)
        let staged = try await BlockingThread.run("gobay-library-stage") {
            try checkout.stage(from: source, commit: commit, parentOwner: owner, link: link)
        }
        let gopathLock = try EnvironmentLocks(dataDir: config.dataDir).gopath(name)
        if !gopathLock.tryLockExclusive() {
            log?("environment \(name): waiting for the builds reading GOPATH to finish")
            guard await gopathLock.lock(shared: false, deadline: deadline) else {
                checkout.discard(staged)
                throw waitEnded(library)
            }
        }
        do {
            try checkout.swap(in: staged)
        } catch {
            gopathLock.unlock()
            checkout.discard(staged)
            throw error
        }
        gopathLock.unlock()
        log?(
            "environment \(name): library \(library.name) \(before.map { String($0.prefix(12)) } ?? "(none)") -> \(commit.prefix(12))"
                + (link ? " (hard links to the clean tree)" : " (copied)"))
        try? await BlockingThread.run("gobay-library-discard") { checkout.discard(staged) }
        return Change(environment: name, from: before, to: commit, pin: pin, changed: true)
    }

    /// The user that owns the directories steps create in this environment's GOPATH, so new
    /// parents of the checkout stay writable for them; nil when steps run as gobay's user or
    /// the toolchain is not installed yet.
    private func parentOwner(_ name: String) -> ProcessUser? {
        guard let envConfig = try? config.environment(name),
            let toolchain = try? ToolchainStore(dataDir: config.dataDir).resolve(for: envConfig),
            let executor = try? Environment(config: envConfig, toolchain: toolchain, dataDir: config.dataDir)
                .makeExecutor(dataDir: config.dataDir)
        else { return nil }
        return executor.stepUser
    }

    /// Makes the clean tree of `commit` (`libraries/<name>/<commit>`) unless it exists: checked
    /// out beside, given a go.mod naming the import path when the library has none (so module
    /// dependents can `replace` it), then renamed into place.
    static func cleanTree(_ library: LibraryConfig, commit: String, mirror: GitMirror, data: DataDirectory) throws {
        try mirror.cleanTree(commit: commit, at: data.libraryTree(library.name, commit: commit)) { staging in
            let goMod = staging + "/go.mod"
            if !FileManager.default.fileExists(atPath: goMod) {
                guard FileManager.default.createFile(atPath: goMod, contents: Data("module \(library.importPath)\n".utf8)) else {
                    throw GobayError.failure("cannot write \(goMod)", hint: "check free disk space")
                }
            }
        }
    }

    /// Removes clean trees no environment is headed for, and leftovers of killed updates.
    static func dropUnusedTrees(_ library: LibraryConfig, keeping: Set<String>, data: DataDirectory) {
        let dir = data.libraryTrees(library.name)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where !keeping.contains(name) {
            try? FileManager.default.removeItem(atPath: dir + "/" + name)
        }
    }

    private func waitEnded(_ library: LibraryConfig) -> GobayError {
        Task.isCancelled
            ? GobayError("update of library \(library.name) canceled", kind: .failure)
            : GobayError(
                "gave up waiting to update library \(library.name): builds held the environment's GOPATH",
                hint: "run it again when the running builds have finished", kind: .unavailable)
    }
}

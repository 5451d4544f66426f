import Foundation

/// What `gobay lib status` and `gobay lib dependents` show: each library's checkout in each
/// environment, and the projects that import it.
public struct LibraryReport: Sendable {
    /// The config.
    public let config: GobayConfig
    /// The history (pins, builds).
    public let database: AppDatabase

    /// A report over `config` and `database`.
    public init(config: GobayConfig, database: AppDatabase) {
        self.config = config
        self.database = database
    }

    /// One library in one environment.
    public struct Row: Sendable, Codable, Equatable {
        /// The library.
        public var library: String
        /// The environment.
        public var environment: String
        /// The commit its checkout holds; nil when it holds none yet.
        public var commit: String?
        /// The commit's date (committer date, RFC 3339), when the mirror knows it.
        public var commitDate: String?
        /// When the checkout was placed.
        public var updatedAt: String?
        /// The pin in effect, if any.
        public var pin: LibraryUpdater.Pin?
        /// Every pin, the one in effect first: a command pin overrides gobay.yml's.
        public var pins: [LibraryUpdater.Pin]

        enum CodingKeys: String, CodingKey {
            case library, environment, commit, pin, pins
            case commitDate = "commit_date"
            case updatedAt = "updated_at"
        }
    }

    /// Every library × every environment it lists, in config order (or only `library`).
    public func status(library only: String? = nil) throws -> [Row] {
        let libraries = try only.map { [try config.library($0)] } ?? config.libraries
        let commandPins = try database.libraryPins()
        let updater = LibraryUpdater(config: config, database: database)
        var rows: [Row] = []
        for lib in libraries {
            let mirror = GitMirror(url: lib.repo, dataDir: config.dataDir)
            for env in lib.environmentNames(in: config) {
                let state = LibraryCheckout(library: lib, environment: config.data.environmentLayout(env)).state()
                var pins: [LibraryUpdater.Pin] = []
                if let pin = commandPins.first(where: { $0.library == lib.name && $0.environment == env }) {
                    pins.append(.init(commit: pin.commit, source: "command"))
                }
                if let pin = lib.pins[env] { pins.append(.init(commit: pin, source: "config")) }
                rows.append(
                    Row(
                        library: lib.name, environment: env, commit: state?.commit,
                        commitDate: state.flatMap { mirror.commitDate($0.commit) },
                        updatedAt: state.map { Timestamp.string($0.updatedAt) },
                        pin: updater.pin(lib, environment: env, commandPins: commandPins), pins: pins))
            }
        }
        return rows
    }

    /// A project that imports a library.
    public struct Dependent: Sendable, Codable, Equatable {
        /// The project.
        public var project: String
        /// The environment it builds in; nil when go.mod chooses at build time.
        public var environment: String?
        /// How gobay knows: `build` (its last successful build compiled against it) or `go.mod`
        /// (its go.mod requires the library's module path; it has no successful build yet).
        public var source: String
        /// That build.
        public var build: Int64?
        /// The library commit that build used.
        public var commit: String?
    }

    /// The projects that import `library`: from each project's last successful build (which
    /// records the libraries `go list -deps` found), else from go.mod at the project's branch
    /// head in its mirror. Names are never guessed from.
    public func dependents(of name: String) throws -> [Dependent] {
        let lib = try config.library(name)
        let uses = Dictionary(try database.latestLibraryUse(projects: config.projects.map(\.name)).map { ($0.project, $0) }, uniquingKeysWith: { a, _ in a })
        var found: [Dependent] = []
        for project in config.projects {
            if let use = uses[project.name] {
                if let commit = use.libraries[lib.name] {
                    found.append(
                        Dependent(
                            project: project.name, environment: use.environment, source: "build", build: use.build,
                            commit: commit))
                }
                continue
            }
            let mirror = GitMirror(url: project.repo, dataDir: config.dataDir)
            guard let branch = project.branch ?? mirror.headFileBranch(),
                let commit = try? mirror.resolve(ref: branch),
                let text = mirror.read("go.mod", at: commit),
                GoMod(text).requirements[lib.importPath] != nil
            else { continue }
            found.append(Dependent(project: project.name, environment: project.environment, source: "go.mod"))
        }
        return found
    }
}

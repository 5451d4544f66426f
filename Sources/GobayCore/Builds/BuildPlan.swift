import Foundation

/// A validated build: every name resolved, the commit known, the environment and its
/// toolchain chosen. Making one writes nothing but the git mirror.
public struct BuildPlan: Sendable {
    /// The project.
    public var project: ProjectConfig
    /// The environment it builds in.
    public var environment: Environment
    /// GOPATH or module mode, never auto.
    public var mode: BuildMode
    /// The mirror holding the commit.
    public var mirror: GitMirror
    /// The full commit id.
    public var commit: String
    /// The ref that named it (or the commit id).
    public var ref: String
    /// Planning made the commit's clean tree (from an older one, to read its go.mod): the
    /// checkout links a tree just written, with nothing to refresh.
    public var madeCleanTree = false

    /// Resolves `request` against `config`: validates the ref, updates the mirror (unless the
    /// request names a commit the mirror holds), reads go.mod
    /// at the commit and picks the environment and toolchain. Every bad input is a usage error.
    /// `fetching` hears of a fetch as it starts (`gobay build` says so before the build has a
    /// log: a slow remote is no silent wait).
    public static func make(
        _ request: BuildRequest, config: GobayConfig, store: ToolchainStore, fetching: (String) -> Void = { _ in }
    ) throws -> BuildPlan {
        let project = try config.project(request.project)
        if let ref = request.ref { try GitRef.validate(ref) }
        if let env = request.environment { _ = try config.environment(env) }
        let mirror = GitMirror(url: project.repo, dataDir: config.dataDir)
        // A full commit id the mirror holds needs no fetch (a rebuild, a retry, a redelivered push,
        // the later pushes of a burst whose first build fetched them all).
        let held = request.commit.map(mirror.holds(object:)) ?? false
        // A branch of a repository on this machine that still points where the mirror's does
        // needs no fetch either (read from both repositories' ref files).
        let branch = request.commit == nil ? request.ref ?? project.branch : nil
        let unmoved = branch.flatMap(mirror.unmovedLocalTip(of:))
        if !held && unmoved == nil {
            fetching("fetching \(SecretMask.urlPasswords(project.repo))")
            try mirror.update()
        }
        let commit: String
        let ref: String
        // go.mod as read while resolving the commit, when it was (nil inside: there is none).
        var goModRead: String??
        var madeCleanTree = false
        if let sha = request.commit {
            let tree = config.data.projectTree(project.name, commit: sha)
            if held, !FileManager.default.fileExists(atPath: tree + "/go.mod") {
                // A new commit of a project whose work dirs link clean trees (a stream of pushes):
                // its tree, made now from the older one, holds go.mod, and the checkout links it.
                // One git process (the checkout it needs anyway) instead of two.
                madeCleanTree = mirror.advanceCleanTree(
                    to: sha, trees: config.data.projectTrees(project.name), lock: config.data.projectTreesLock(project.name))
            }
            if held, FileManager.default.fileExists(atPath: tree + "/go.mod") {
                // An earlier build checked this very commit out: no git process (go.mod is read
                // from its clean tree below).
                commit = sha
            } else if let (full, text) = mirror.commitAndGoMod(sha) {
                // A pushed commit of a module: the commit and its go.mod in one git process.
                commit = full
                goModRead = .some(text)
            } else {
                // No such commit (the error says so), or one without a go.mod.
                commit = try mirror.resolve(commit: sha)
                goModRead = .some(nil)
            }
            ref = request.ref ?? commit
        } else {
            ref = try request.ref ?? project.branch ?? mirror.defaultBranch()
            commit = try unmoved ?? mirror.resolve(ref: ref)
        }
        // The clean tree of this commit, when an earlier build made one, holds its go.mod: a
        // file read, not a git process. Only a go.mod found there counts; otherwise git says.
        let goModText =
            goModRead
            ?? FileManager.default.contents(atPath: config.data.projectTree(project.name, commit: commit) + "/go.mod")
            .map { String(decoding: $0, as: UTF8.self) } ?? mirror.read("go.mod", at: commit)
        var mode = project.mode
        if mode == .auto { mode = goModText == nil ? .gopath : .module }
        if mode == .gopath && project.importPath == nil {
            throw GobayError(
                "project \"\(project.name)\" has no go.mod at \(commit.prefix(12)), so it builds in GOPATH mode, "
                    + "which needs import_path",
                hint: "add import_path: to projects.\(project.name) in \(config.path), or add a go.mod")
        }
        let envConfig: EnvironmentConfig
        if let name = request.environment ?? project.environment {
            envConfig = try config.environment(name)
        } else if mode == .gopath {
            throw GobayError(
                "project \"\(project.name)\" builds in GOPATH mode and names no environment",
                hint: "add environment: to projects.\(project.name) in \(config.path)")
        } else {
            envConfig = try chooseEnvironment(goMod: GoMod(goModText ?? ""), project: project, config: config, store: store)
        }
        let environment = Environment(
            config: envConfig, toolchain: try store.resolve(for: envConfig), dataDir: config.dataDir)
        return BuildPlan(
            project: project, environment: environment, mode: mode, mirror: mirror, commit: commit, ref: ref,
            madeCleanTree: madeCleanTree)
    }

    /// The environment with the lowest Go version that is at least what go.mod asks for.
    static func chooseEnvironment(goMod: GoMod, project: ProjectConfig, config: GobayConfig, store: ToolchainStore)
        throws -> EnvironmentConfig
    {
        guard let required = goMod.required else {
            throw GobayError(
                "project \"\(project.name)\": go.mod has no go line, so gobay cannot choose an environment",
                hint: "add environment: to projects.\(project.name), or a go line to go.mod")
        }
        let versions: [(EnvironmentConfig, GoVersion)] = config.environments.map { env in
            let installed = (try? store.resolve(for: env))?.goVersion
            return (env, installed ?? env.go)
        }
        let fitting = versions.filter { $0.1 >= required }.sorted { $0.1 < $1.1 }
        guard let best = fitting.first else {
            let have = versions.map { "\($0.0.name) (Go \($0.1))" }.joined(separator: ", ")
            throw GobayError(
                "project \"\(project.name)\" needs Go \(required) (from go.mod), and no environment has it; "
                    + "environments: \(have.isEmpty ? "none" : have)",
                hint: "add an environment with go: \"\(required.major).\(required.minor)\" and install that toolchain")
        }
        return best.0
    }
}

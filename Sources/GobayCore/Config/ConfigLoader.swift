import Foundation
import Yams

/// Finds, reads and validates gobay.yml.
public enum ConfigLoader {
    /// The default go.dev download site.
    public static let defaultMirror = "https://go.dev/dl/"

    /// Finds the config file: `--config`, then GOBAY_CONFIG, then ./gobay.yml.
    public static func locate(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws -> String
    {
        let cwd = FileManager.default.currentDirectoryPath
        func absolute(_ p: String) -> String { p.hasPrefix("/") ? p : cwd + "/" + p }
        if let explicit { return absolute(explicit) }
        if let env = environment["GOBAY_CONFIG"], !env.isEmpty { return absolute(env) }
        let local = cwd + "/gobay.yml"
        if FileManager.default.fileExists(atPath: local) { return local }
        throw GobayError(
            "no config file: --config not given, GOBAY_CONFIG not set, and no gobay.yml in \(cwd)",
            hint: "run `gobay init` to write a starter gobay.yml, or pass --config FILE")
    }

    /// Reads and validates the file at `path`. With `onlyProject`, of `projects:` only that one
    /// is read and validated (the others' names are checked): what `gobay build P` needs, at a
    /// cost that does not grow with the projects it does not build. With a `cache` as well, the
    /// lines of the other projects are not even composed once the same bytes were read before.
    public static func load(path: String, onlyProject: String? = nil, cache: ConfigCache? = nil) throws -> GobayConfig {
        try loadReporting(path: path, onlyProject: onlyProject, cache: cache).config
    }

    /// `load`, and what it did with the cache (nil without one).
    static func loadReporting(path: String, onlyProject: String?, cache: ConfigCache?) throws
        -> (config: GobayConfig, outcome: ConfigCache.Outcome?)
    {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GobayError("cannot read config file \(path)", hint: "check the path, or run `gobay init`")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw GobayError("\(path): not UTF-8 text")
        }
        guard let project = onlyProject, let cache else {
            return (try parse(text, path: path, onlyProject: onlyProject), nil)
        }
        let digest = FileDigest.sha256(data: data)
        if let blank = cache.lookup(path: path, project: project, digest: digest),
            let config = try? parse(ConfigCache.reduced(text, blanking: blank), path: path, onlyProject: project),
            config.projects.count == 1
        {
            return (config, .hit)
        }
        let root = try compose(text, path: path)
        let config = try validate(root, path: path, onlyProject: project)
        // Remembered only when the reduced text gives this very config.
        let lines = text.utf8.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        guard config.projects.count == 1,
            let blank = ConfigCache.otherProjects(in: root, keeping: project, lineCount: lines),
            (try? parse(ConfigCache.reduced(text, blanking: blank), path: path, onlyProject: project)) == config
        else { return (config, .notStored) }
        let stored = cache.store(path: path, project: project, digest: digest, blank: blank)
        return (config, stored ? .stored : .notStored)
    }

    /// Validates YAML `text` as if read from `path` (relative paths resolve beside it).
    public static func parse(_ text: String, path: String, onlyProject: String? = nil) throws -> GobayConfig {
        try validate(compose(text, path: path), path: path, onlyProject: onlyProject)
    }

    /// The YAML document of `text`, every scalar left as text.
    static func compose(_ text: String, path: String) throws -> Node {
        do {
            // No tag resolution: gobay reads every scalar as text itself (a duration, a number, a
            // bool where one is wanted), and resolving each scalar's tag runs a handful of regular
            // expressions on it, most of the parse at 1,000 projects.
            guard let node = try Yams.compose(yaml: text, .basic) else {
                throw GobayError("\(path): the file is empty", hint: "run `gobay init` for a starter config")
            }
            return node
        } catch let error as YamlError {
            throw GobayError("\(path): invalid YAML: \(yamlProblem(error))", hint: "fix the YAML syntax at that line")
        }
    }

    /// Reads the config out of a composed document `root`, as if from `path`.
    static func validate(_ root: Node, path: String, onlyProject: String?) throws -> GobayConfig {
        let r = YAMLReader(file: path)
        let baseDir = (path as NSString).deletingLastPathComponent
        func resolvePath(_ p: String) -> String {
            normalizedPath(p.hasPrefix("/") ? p : baseDir + "/" + p)
        }

        var config = GobayConfig(
            path: path, dataDir: resolvePath(".gobay"), toolchainMirror: defaultMirror, environments: [],
            projects: [], libraries: [])
        var projectsNode: Node?
        var librariesNode: Node?
        for (key, _, value) in try r.mapping(
            root, at: "", allowed: ["data_dir", "toolchains", "environments", "projects", "libraries", "server", "retention"])
        {
            switch key {
            case "data_dir":
                config.dataDir = resolvePath(try r.nonEmptyString(value, at: key))
            case "toolchains":
                for (k, _, v) in try r.mapping(value, at: key, allowed: ["mirror"]) where k == "mirror" {
                    var mirror = try r.nonEmptyString(v, at: "toolchains.mirror")
                    guard mirror.hasPrefix("http://") || mirror.hasPrefix("https://") else {
                        throw r.error(v, "toolchains.mirror", "must be an http:// or https:// URL")
                    }
                    if !mirror.hasSuffix("/") { mirror += "/" }
                    config.toolchainMirror = mirror
                }
            case "environments":
                for (name, keyNode, envNode) in try r.mapping(value, at: key, allowed: nil) {
                    try checkName(name, keyNode, "environments", r)
                    let env = try parseEnvironment(name, envNode, r, resolvePath)
                    if let cache = env.gocache, let other = config.environments.first(where: { $0.gocache == cache }) {
                        throw r.error(
                            envNode, "environments.\(name).gocache",
                            "\"\(cache)\" is also environment \(other.name)'s build cache; environments are the trust"
                                + " boundary (each runs steps as its own user), so they cannot share one",
                            hint: "give each environment its own gocache:, or remove it")
                    }
                    config.environments.append(env)
                }
            case "libraries":
                librariesNode = value
                for (name, keyNode, libNode) in try r.mapping(value, at: key, allowed: nil) {
                    try checkName(name, keyNode, "libraries", r)
                    config.libraries.append(try parseLibrary(name, libNode, r, resolvePath))
                }
            case "projects":
                projectsNode = value
            case "server":
                config.server = try ServerConfigParser.parse(value, r)
            case "retention":
                config.retention = try RetentionConfig.parse(value, at: "retention", r, global: true)
            default:
                break
            }
        }
        try checkLibraries(config, librariesNode, r)
        if let projectsNode {
            let entries = try r.mapping(projectsNode, at: "projects", allowed: nil)
            // A project that is not there: all are read, so the error can list them.
            let only = onlyProject.flatMap { name in entries.contains { $0.0 == name } ? name : nil }
            for (name, keyNode, projectNode) in entries {
                try checkName(name, keyNode, "projects", r)
                if let only, name != only { continue }
                config.projects.append(try parseProject(name, projectNode, config, r, resolvePath))
            }
        }
        return config
    }

    static func checkName(_ name: String, _ node: Node, _ section: String, _ r: YAMLReader) throws {
        let ok =
            !name.isEmpty && name.count <= 64 && !name.hasPrefix(".") && !name.hasPrefix("-")
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
        if !ok {
            throw r.error(
                node, "\(section).\(name)", "invalid name",
                hint: "use letters, digits, '-', '_' and '.', not starting with '.' or '-'")
        }
    }

    /// Variables gobay sets for every go process; `env:` may not set them.
    static let gobayVariables: Set<String> = ["GOROOT", "GOPATH", "GOMODCACHE", "GOCACHE", "HOME", "GOTOOLCHAIN", "GOENV"]

    static func resolveRepo(_ repo: String, _ resolvePath: (String) -> String) -> String {
        if repo.contains("://") || isSCPLike(repo) { return repo }
        return resolvePath(repo)
    }

    /// `user@host:path`, as git reads it: an `@` and then a `:`, with no `/` before either, and
    /// something before each.
    static func isSCPLike(_ repo: String) -> Bool {
        guard let at = repo.firstIndex(of: "@"), at != repo.startIndex, !repo[..<at].contains("/") else { return false }
        let rest = repo[repo.index(after: at)...]
        guard let colon = rest.firstIndex(of: ":"), colon != rest.startIndex else { return false }
        return !rest[..<colon].contains("/")
    }

    /// `path` with `//`, `.` and `..` taken out by its text alone (no file system calls: a config
    /// of a thousand projects resolves a thousand paths); an absolute path stays absolute, `..`
    /// never climbs above the root, and a relative one keeps its leading `..`s.
    static func normalizedPath(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." {
                if let last = parts.last, last != ".." {
                    parts.removeLast()
                } else if !absolute {
                    parts.append(part)
                }
            } else {
                parts.append(part)
            }
        }
        let joined = parts.joined(separator: "/")
        return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    /// A name a shell would take for a variable: a letter or `_`, then letters, digits and `_`.
    static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else {
            return false
        }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    static func validBranch(_ node: Node, _ path: String, _ r: YAMLReader) throws -> String {
        let branch = try r.nonEmptyString(node, at: path)
        if let problem = GitRef.problem(branch) {
            throw r.error(node, path, "\"\(branch)\" is not a valid git ref: \(problem)")
        }
        return branch
    }

    static func validImportPath(_ node: Node, _ path: String, _ r: YAMLReader) throws -> String {
        let text = try r.nonEmptyString(node, at: path)
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        let ok =
            !text.hasPrefix("/") && !text.hasSuffix("/")
            && parts.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." && !$0.hasPrefix("-") }
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_./~".contains($0)) }
        guard ok else {
            throw r.error(node, path, "\"\(text)\" is not a Go import path", hint: "e.g. gitlab.example.com/team/svc")
        }
        return text
    }

    private static func yamlProblem(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return "line \(mark.line), column \(mark.column): \(problem)"
        case .reader(let problem, _, _, _):
            return problem
        default:
            return "\(error)"
        }
    }
}

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

    /// Reads and validates the file at `path`.
    public static func load(path: String) throws -> GobayConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GobayError("cannot read config file \(path)", hint: "check the path, or run `gobay init`")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw GobayError("\(path): not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    /// Validates YAML `text` as if read from `path` (relative paths resolve beside it).
    public static func parse(_ text: String, path: String) throws -> GobayConfig {
        let r = YAMLReader(file: path)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw GobayError("\(path): the file is empty", hint: "run `gobay init` for a starter config")
            }
            root = node
        } catch let error as YamlError {
            throw GobayError("\(path): invalid YAML: \(yamlProblem(error))", hint: "fix the YAML syntax at that line")
        }
        let baseDir = (path as NSString).deletingLastPathComponent
        func resolvePath(_ p: String) -> String {
            if p.hasPrefix("/") { return (p as NSString).standardizingPath }
            return ((baseDir as NSString).appendingPathComponent(p) as NSString).standardizingPath
        }

        var config = GobayConfig(
            path: path, dataDir: resolvePath(".gobay"), toolchainMirror: defaultMirror, environments: [],
            projects: [], libraries: [])
        var projectsNode: Node?
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
        if let projectsNode {
            for (name, keyNode, projectNode) in try r.mapping(projectsNode, at: "projects", allowed: nil) {
                try checkName(name, keyNode, "projects", r)
                config.projects.append(try parseProject(name, projectNode, config, r, resolvePath))
            }
        }
        return config
    }

    private static func checkName(_ name: String, _ node: Node, _ section: String, _ r: YAMLReader) throws {
        let ok =
            !name.isEmpty && name.count <= 64 && !name.hasPrefix(".") && !name.hasPrefix("-")
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
        if !ok {
            throw r.error(
                node, "\(section).\(name)", "invalid name",
                hint: "use letters, digits, '-', '_' and '.', not starting with '.' or '-'")
        }
    }

    private static func parseEnvironment(
        _ name: String, _ node: Node, _ r: YAMLReader, _ resolvePath: (String) -> String
    ) throws -> EnvironmentConfig {
        let at = "environments.\(name)"
        var go: GoVersion?
        var env = EnvironmentConfig(
            name: name, go: GoVersion(major: 1, minor: 0, patch: nil), goroot: nil, executor: .host, concurrency: 2,
            env: [], gocache: nil)
        let entries = try r.mapping(
            node, at: at,
            allowed: [
                "go", "goroot", "executor", "concurrency", "env", "gocache", "image", "toolchain", "network", "user",
                "allow_root_builds",
            ])
        var toolchainGiven = false
        var networkNode: Node?
        for (key, _, value) in entries {
            let path = "\(at).\(key)"
            switch key {
            case "go":
                let text = try r.nonEmptyString(value, at: path)
                guard let version = GoVersion(text) else {
                    throw r.error(value, path, "\"\(text)\" is not a Go version", hint: "write it like \"1.22\" or \"1.22.10\"")
                }
                go = version
            case "goroot": env.goroot = resolvePath(try r.nonEmptyString(value, at: path))
            case "gocache": env.gocache = resolvePath(try r.nonEmptyString(value, at: path))
            case "executor":
                let text = try r.nonEmptyString(value, at: path)
                guard let kind = ExecutorKind(rawValue: text) else {
                    throw r.error(value, path, "unknown executor \"\(text)\"", hint: "use host, sandbox or docker")
                }
                env.executor = kind
            case "concurrency": env.concurrency = try r.int(value, at: path, min: 1)
            case "image": env.image = try r.nonEmptyString(value, at: path)
            case "toolchain":
                let text = try r.nonEmptyString(value, at: path)
                guard let source = ToolchainMount(rawValue: text) else {
                    throw r.error(value, path, "unknown toolchain source \"\(text)\"", hint: "use image or mount")
                }
                env.toolchainSource = source
                toolchainGiven = true
            case "network": networkNode = value
            case "user":
                let text = try r.nonEmptyString(value, at: path)
                guard text.range(of: "^([0-9]+(:[0-9]+)?|[a-z_][a-z0-9_-]*)$", options: .regularExpression) != nil else {
                    throw r.error(
                        value, path, "\"\(text)\" is not a user name, uid or uid:gid", hint: "e.g. user: \"1000:1000\"")
                }
                env.user = text
            case "allow_root_builds": env.allowRootBuilds = try r.bool(value, at: path)
            case "env":
                for (k, keyNode, v) in try r.mapping(value, at: path, allowed: nil) {
                    guard k.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                        throw r.error(keyNode, "\(path).\(k)", "not a valid environment variable name")
                    }
                    if Self.gobayVariables.contains(k) {
                        throw r.error(
                            keyNode, "\(path).\(k)", "\(k) is set by gobay for each environment",
                            hint: k == "GOCACHE" ? "use gocache: on the environment instead" : "remove it")
                    }
                    env.env.append((k, try r.string(v, at: "\(path).\(k)")))
                }
            default: break
            }
        }
        guard let go else {
            throw r.error(node, at, "missing required key \"go\"", hint: "add go: \"1.22\" (the Go version)")
        }
        env.go = go
        if env.executor == .docker {
            guard let image = env.image else {
                throw r.error(node, at, "executor docker needs image", hint: "e.g. image: \"golang:\(go)\"")
            }
            if !toolchainGiven {
                let name = image.split(separator: "/").last.map(String.init) ?? image
                env.toolchainSource = name.hasPrefix("golang:") || name == "golang" ? .image : .mount
            }
        } else if env.image != nil || toolchainGiven {
            throw r.error(node, at, "image and toolchain apply to executor docker only", hint: "remove them or set executor: docker")
        }
        if env.executor == .docker, let user = env.user, user.first?.isNumber != true {
            throw r.error(node, "\(at).user", "executor docker takes user as uid or uid:gid", hint: "e.g. user: \"1000:1000\"")
        }
        if let networkNode {
            let text = try r.nonEmptyString(networkNode, at: "\(at).network").lowercased()
            let allowed = env.executor == .docker ? ["host", "none", "bridge"] : ["host", "none", "true", "false"]
            guard allowed.contains(text) else {
                throw r.error(
                    networkNode, "\(at).network", "\"\(text)\" is not a network setting for executor \(env.executor.rawValue)",
                    hint: "use one of: \(allowed.joined(separator: ", "))")
            }
            env.network = text == "true" ? "host" : text == "false" ? "none" : text
        }
        return env
    }

    private static func parseLibrary(
        _ name: String, _ node: Node, _ r: YAMLReader, _ resolvePath: (String) -> String
    ) throws -> LibraryConfig {
        let at = "libraries.\(name)"
        var repo: String?
        var branch: String?
        var importPath: String?
        for (key, _, value) in try r.mapping(node, at: at, allowed: ["repo", "branch", "import_path"]) {
            let path = "\(at).\(key)"
            switch key {
            case "repo": repo = resolveRepo(try r.nonEmptyString(value, at: path), resolvePath)
            case "branch": branch = try validBranch(value, path, r)
            case "import_path": importPath = try validImportPath(value, path, r)
            default: break
            }
        }
        guard let repo else { throw r.error(node, at, "missing required key \"repo\"") }
        guard let importPath else {
            throw r.error(node, at, "missing required key \"import_path\"", hint: "e.g. import_path: gitlab.example.com/team/lib")
        }
        return LibraryConfig(name: name, repo: repo, branch: branch, importPath: importPath)
    }

    /// Variables gobay sets for every go process; `env:` may not set them.
    static let gobayVariables: Set<String> = ["GOROOT", "GOPATH", "GOMODCACHE", "GOCACHE", "HOME", "GOTOOLCHAIN", "GOENV"]

    private static func parseProject(
        _ name: String, _ node: Node, _ config: GobayConfig, _ r: YAMLReader, _ resolvePath: (String) -> String
    ) throws -> ProjectConfig {
        let at = "projects.\(name)"
        var p = ProjectConfig(
            name: name, repo: "", branch: nil, environment: nil, mode: .auto, importPath: nil, package: ".",
            output: name, ldflags: nil, targets: [], test: false, timeout: 30 * 60)
        var hasRepo = false
        let allowed: Set<String> = [
            "repo", "branch", "environment", "mode", "import_path", "package", "output", "ldflags", "targets", "test",
            "timeout", "webhook_secret", "branches", "tags", "coalesce", "status", "build_tags", "generate", "test_flags",
            "env", "retention",
        ]
        for (key, _, value) in try r.mapping(node, at: at, allowed: allowed) {
            let path = "\(at).\(key)"
            switch key {
            case "repo":
                p.repo = resolveRepo(try r.nonEmptyString(value, at: path), resolvePath)
                hasRepo = true
            case "branch": p.branch = try validBranch(value, path, r)
            case "environment":
                let envName = try r.nonEmptyString(value, at: path)
                guard config.environments.contains(where: { $0.name == envName }) else {
                    throw r.error(
                        value, path, "no environment named \"\(envName)\"",
                        hint: "define it under environments:, or use one of: "
                            + config.environments.map(\.name).joined(separator: ", "))
                }
                p.environment = envName
            case "mode":
                let text = try r.nonEmptyString(value, at: path)
                guard let mode = BuildMode(rawValue: text) else {
                    throw r.error(value, path, "unknown mode \"\(text)\"", hint: "use gopath, module or auto")
                }
                p.mode = mode
            case "import_path": p.importPath = try validImportPath(value, path, r)
            case "package":
                let pkg = try r.nonEmptyString(value, at: path)
                guard !pkg.hasPrefix("-") else { throw r.error(value, path, "must not start with '-'") }
                p.package = pkg
            case "output":
                let out = try r.nonEmptyString(value, at: path)
                guard !out.contains("/"), !out.hasPrefix("."), !out.hasPrefix("-") else {
                    throw r.error(value, path, "must be a plain file name", hint: "e.g. output: my-service")
                }
                p.output = out
            case "ldflags": p.ldflags = try r.string(value, at: path)
            case "targets":
                p.targets = try r.stringList(value, at: path).map { text, itemNode in
                    let parts = text.split(separator: "/")
                    let valid = parts.count == 2 && parts.allSatisfy { $0.allSatisfy { $0.isLetter || $0.isNumber } }
                    guard valid else {
                        throw r.error(itemNode, path, "\"\(text)\" is not GOOS/GOARCH", hint: "e.g. linux/amd64")
                    }
                    return BuildTarget(goos: String(parts[0]), goarch: String(parts[1]))
                }
            case "test": p.test = try r.bool(value, at: path)
            case "timeout": p.timeout = try r.duration(value, at: path)
            case "webhook_secret": p.webhookSecret = try ServerConfigParser.secret(value, at: path, r, allowNone: true)
            case "branches":
                p.branches = try r.stringList(value, at: path).map { glob, _ in glob }
            case "tags": p.tags = try r.bool(value, at: path)
            case "coalesce": p.coalesce = try r.bool(value, at: path)
            case "status": p.status = try ServerConfigParser.status(value, at: path, r)
            case "build_tags":
                let tags: [(String, Node)]
                if case .scalar = value {
                    tags = try r.nonEmptyString(value, at: path).split(separator: ",").map { (String($0), value) }
                } else {
                    tags = try r.stringList(value, at: path)
                }
                p.buildTags = try tags.map { tag, tagNode in
                    let trimmed = tag.trimmingCharacters(in: .whitespaces)
                    guard trimmed.range(of: "^[A-Za-z0-9_.]+$", options: .regularExpression) != nil else {
                        throw r.error(tagNode, path, "\"\(tag)\" is not a Go build tag", hint: "letters, digits, _ and . only")
                    }
                    return trimmed
                }
            case "generate": p.generate = try r.bool(value, at: path)
            case "retention": p.retention = try RetentionConfig.parse(value, at: path, r, global: false)
            case "test_flags":
                p.testFlags = try r.stringList(value, at: path).map { flag, flagNode in
                    guard flag.hasPrefix("-"), flag.count > 1 else {
                        throw r.error(flagNode, path, "\"\(flag)\" is not a go test flag", hint: "e.g. test_flags: [-race, -count=1]")
                    }
                    return flag
                }
            case "env":
                for (k, keyNode, v) in try r.mapping(value, at: path, allowed: nil) {
                    guard k.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                        throw r.error(keyNode, "\(path).\(k)", "not a valid environment variable name")
                    }
                    if Self.gobayVariables.contains(k) {
                        throw r.error(keyNode, "\(path).\(k)", "\(k) is set by gobay for each environment", hint: "remove it")
                    }
                    if case .mapping = v {
                        p.env.append((k, try ServerConfigParser.secret(v, at: "\(path).\(k)", r, allowNone: false)))
                    } else {
                        p.env.append((k, .literal(try r.string(v, at: "\(path).\(k)"))))
                    }
                }
            default: break
            }
        }
        guard hasRepo else {
            throw r.error(node, at, "missing required key \"repo\"", hint: "add repo: with a git URL or path")
        }
        if p.mode == .gopath && p.importPath == nil {
            throw r.error(
                node, at, "mode gopath needs import_path",
                hint: "add import_path: gitlab.example.com/team/\(name)")
        }
        return p
    }

    private static func resolveRepo(_ repo: String, _ resolvePath: (String) -> String) -> String {
        if repo.contains("://") || repo.range(of: "^[^/]+@[^/]+:", options: .regularExpression) != nil {
            return repo
        }
        return resolvePath(repo)
    }

    private static func validBranch(_ node: Node, _ path: String, _ r: YAMLReader) throws -> String {
        let branch = try r.nonEmptyString(node, at: path)
        if let problem = GitRef.problem(branch) {
            throw r.error(node, path, "\"\(branch)\" is not a valid git ref: \(problem)")
        }
        return branch
    }

    private static func validImportPath(_ node: Node, _ path: String, _ r: YAMLReader) throws -> String {
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

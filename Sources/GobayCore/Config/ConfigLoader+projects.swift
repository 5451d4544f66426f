import Foundation
import Yams

/// The `projects:` section.
extension ConfigLoader {
    /// Reads and validates `projects.<name>`, whose environment and libraries `config` already holds.
    static func parseProject(
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
            "env", "retention", "deploy",
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
                    guard !trimmed.isEmpty,
                        trimmed.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == ".") })
                    else {
                        throw r.error(tagNode, path, "\"\(tag)\" is not a Go build tag", hint: "letters, digits, _ and . only")
                    }
                    return trimmed
                }
            case "generate": p.generate = try r.bool(value, at: path)
            case "retention": p.retention = try RetentionConfig.parse(value, at: path, r, global: false)
            case "deploy": p.deploy = try parseDeploy(value, at: path, r, resolvePath)
            case "test_flags":
                p.testFlags = try r.stringList(value, at: path).map { flag, flagNode in
                    guard flag.hasPrefix("-"), flag.count > 1 else {
                        throw r.error(flagNode, path, "\"\(flag)\" is not a go test flag", hint: "e.g. test_flags: [-race, -count=1]")
                    }
                    return flag
                }
            case "env":
                for (k, keyNode, v) in try r.mapping(value, at: path, allowed: nil) {
                    guard Self.isVariableName(k) else {
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
}

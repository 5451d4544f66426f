import Foundation
import Yams

extension ConfigLoader {
    /// Reads `libraries.<name>`; environment names are checked once every section is read
    /// (`checkLibraries`).
    static func parseLibrary(
        _ name: String, _ node: Node, _ r: YAMLReader, _ resolvePath: (String) -> String
    ) throws -> LibraryConfig {
        let at = "libraries.\(name)"
        var repo: String?
        var importPath: String?
        var lib = LibraryConfig(name: name, repo: "", branch: nil, importPath: "")
        let keys: Set<String> = [
            "repo", "branch", "import_path", "environments", "pin", "track", "rebuild", "webhook_secret",
        ]
        for (key, _, value) in try r.mapping(node, at: at, allowed: keys) {
            let path = "\(at).\(key)"
            switch key {
            case "repo": repo = resolveRepo(try r.nonEmptyString(value, at: path), resolvePath)
            case "branch": lib.branch = try validBranch(value, path, r)
            case "import_path": importPath = try libraryImportPath(value, path, r)
            case "environments":
                if case .scalar(let scalar) = value, scalar.string == "all" {
                    lib.environments = .all
                } else if case .sequence = value {
                    lib.environments = .named(try r.stringList(value, at: path).map(\.0))
                } else {
                    throw r.error(value, path, "expected all or a list of environment names", hint: "e.g. environments: [legacy, modern]")
                }
            case "pin":
                for (env, _, commitNode) in try r.mapping(value, at: path, allowed: nil) {
                    let commit = try r.nonEmptyString(commitNode, at: "\(path).\(env)").lowercased()
                    guard GitRef.isCommitID(commit) else {
                        throw r.error(
                            commitNode, "\(path).\(env)", "\"\(commit)\" is not a commit id",
                            hint: "pin a hex commit id of at least 4 characters, e.g. pin: { \(env): 4f2c9e1 }")
                    }
                    lib.pins[env] = commit
                }
            case "track": lib.track = try r.bool(value, at: path)
            case "webhook_secret": lib.webhookSecret = try ServerConfigParser.secret(value, at: path, r, allowNone: true)
            case "rebuild":
                let text = try r.nonEmptyString(value, at: path)
                guard let rebuild = LibraryConfig.Rebuild(rawValue: text) else {
                    throw r.error(value, path, "expected dependents or none, found \"\(text)\"")
                }
                lib.rebuild = rebuild
            default: break
            }
        }
        guard let repo else { throw r.error(node, at, "missing required key \"repo\"") }
        guard let importPath else {
            throw r.error(node, at, "missing required key \"import_path\"", hint: "e.g. import_path: gitlab.example.com/team/lib")
        }
        lib.repo = repo
        lib.importPath = importPath
        return lib
    }

    /// A library's import path names a directory under every GOPATH/src it is placed in: no
    /// scheme, no absolute path, no `..`.
    private static func libraryImportPath(_ node: Node, _ path: String, _ r: YAMLReader) throws -> String {
        let text = try r.nonEmptyString(node, at: path)
        let problem: String? =
            if text.contains("://") || text.contains(":") {
                "\"\(text)\" has a scheme; an import path has none"
            } else if text.hasPrefix("/") {
                "\"\(text)\" is an absolute path; an import path is relative to GOPATH/src"
            } else if text.split(separator: "/").contains("..") {
                "\"\(text)\" contains \"..\", which would leave GOPATH/src"
            } else {
                nil
            }
        if let problem { throw r.error(node, path, problem, hint: "e.g. import_path: gitlab.example.com/infra/common") }
        return try validImportPath(node, path, r)
    }

    /// Checks what needs the whole file: every environment a library lists or pins exists, and
    /// no two libraries' import paths overlap (one would be placed inside the other).
    static func checkLibraries(_ config: GobayConfig, _ node: Node?, _ r: YAMLReader) throws {
        guard let node else { return }
        let entries = try r.mapping(node, at: "libraries", allowed: nil)
        let known = config.environments.map(\.name)
        for (index, lib) in config.libraries.enumerated() {
            let libNode = entries[index].2
            let at = "libraries.\(lib.name)"
            let fields = try r.mapping(libNode, at: at, allowed: nil)
            func nodeOf(_ key: String) -> Node? { fields.first { $0.0 == key }?.2 }
            if case .named(let names) = lib.environments {
                if let unknown = names.first(where: { !known.contains($0) }) {
                    throw r.error(
                        nodeOf("environments"), "\(at).environments", "unknown environment \"\(unknown)\"",
                        hint: known.isEmpty ? "add it under environments:" : "configured environments: \(known.joined(separator: ", "))")
                }
            }
            for env in lib.pins.keys.sorted() where !lib.lists(env, in: config) {
                throw r.error(
                    nodeOf("pin"), "\(at).pin.\(env)",
                    known.contains(env)
                        ? "environment \"\(env)\" is not in this library's environments"
                        : "unknown environment \"\(env)\"",
                    hint: "pin only environments the library lists: \(lib.environmentNames(in: config).joined(separator: ", "))")
            }
            for other in config.libraries[..<index] where other.covers(lib.importPath) || lib.covers(other.importPath) {
                throw r.error(
                    nodeOf("import_path"), "\(at).import_path",
                    "\"\(lib.importPath)\" overlaps library \(other.name)'s \"\(other.importPath)\"; one would be placed inside the other",
                    hint: "give each library its own import path, neither inside the other")
            }
        }
    }
}

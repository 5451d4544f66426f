import Foundation
import Yams

/// The `environments:` section.
extension ConfigLoader {
    /// Reads and validates `environments.<name>`.
    static func parseEnvironment(
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
                    guard Self.isVariableName(k) else {
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
}

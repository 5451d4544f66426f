import Foundation
import Yams

/// The `projects.<name>.deploy` section.
extension ConfigLoader {
    static func parseDeploy(
        _ node: Node, at: String, _ r: YAMLReader, _ resolvePath: (String) -> String
    ) throws -> DeployConfig {
        var deploy = DeployConfig()
        var targetsNode: Node?
        for (key, _, value) in try r.mapping(node, at: at, allowed: ["on", "strategy", "keep", "targets"]) {
            let path = "\(at).\(key)"
            switch key {
            case "on":
                deploy.on = try r.stringList(value, at: path).map { branch, branchNode in
                    if let problem = GitRef.problem(branch.replacingOccurrences(of: "*", with: "x")) {
                        throw r.error(branchNode, path, "\"\(branch)\" is not a branch name: \(problem)")
                    }
                    return branch
                }
            case "strategy":
                let text = try r.nonEmptyString(value, at: path)
                guard let strategy = DeployConfig.Strategy(rawValue: text) else {
                    throw r.error(value, path, "unknown strategy \"\(text)\"", hint: "use serial, parallel or canary")
                }
                deploy.strategy = strategy
            case "keep": deploy.keep = try r.int(value, at: path, min: 1)
            case "targets": targetsNode = value
            default: break
            }
        }
        guard let targetsNode, case .sequence(let items) = targetsNode, !items.isEmpty else {
            throw r.error(targetsNode ?? node, "\(at).targets", "expected a list of targets", hint: "e.g. targets: [{ name: web-1, host: 10.0.0.5, path: /srv/api, restart: { supervisor: api } }]")
        }
        for (index, item) in items.enumerated() {
            let target = try parseTarget(item, at: "\(at).targets[\(index)]", r, resolvePath)
            if deploy.targets.contains(where: { $0.name == target.name }) {
                throw r.error(item, "\(at).targets[\(index)].name", "two targets are named \"\(target.name)\"", hint: "give each target its own name")
            }
            deploy.targets.append(target)
        }
        return deploy
    }

    private static func parseTarget(
        _ node: Node, at: String, _ r: YAMLReader, _ resolvePath: (String) -> String
    ) throws -> DeployTargetConfig {
        let allowed: Set<String> = ["name", "host", "port", "user", "identity_file", "known_hosts", "path", "restart", "health"]
        var name: String?
        var host: String?
        var local = false
        var port = 22
        var user: String?
        var identity: String?
        var knownHosts: String?
        var path: String?
        var restart: DeployTargetConfig.Restart?
        var health: DeployTargetConfig.Health?
        for (key, _, value) in try r.mapping(node, at: at, allowed: allowed) {
            let keyPath = "\(at).\(key)"
            switch key {
            case "name":
                let text = try r.nonEmptyString(value, at: keyPath)
                guard text.count <= 64, !text.hasPrefix("-"), !text.hasPrefix("."),
                    text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
                else { throw r.error(value, keyPath, "invalid name \"\(text)\"", hint: "letters, digits, '-', '_' and '.'") }
                name = text
            case "host":
                let text = try r.nonEmptyString(value, at: keyPath)
                if text == "local" {
                    local = true
                } else {
                    guard !text.hasPrefix("-"), text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-_:[]".contains($0)) })
                    else { throw r.error(value, keyPath, "\"\(text)\" is not a host name or address", hint: "e.g. host: 10.0.0.5, or host: local") }
                    host = text
                }
            case "port": port = try r.int(value, at: keyPath, min: 1)
            case "user":
                let text = try r.nonEmptyString(value, at: keyPath)
                guard !text.hasPrefix("-"), text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
                else { throw r.error(value, keyPath, "\"\(text)\" is not a user name") }
                user = text
            case "identity_file": identity = resolvePath(try r.nonEmptyString(value, at: keyPath))
            case "known_hosts": knownHosts = resolvePath(try r.nonEmptyString(value, at: keyPath))
            case "path":
                let text = try r.nonEmptyString(value, at: keyPath)
                guard text.hasPrefix("/") else {
                    throw r.error(value, keyPath, "\"\(text)\" is not an absolute path", hint: "e.g. path: /srv/api")
                }
                let parts = text.split(separator: "/")
                guard !parts.contains(".."), !parts.contains("."), text.count > 1, !text.contains("\n") else {
                    throw r.error(value, keyPath, "\"\(text)\" must be a plain absolute directory, without . or ..")
                }
                path = (text as NSString).standardizingPath
            case "restart": restart = try parseRestart(value, at: keyPath, r)
            case "health": health = try parseHealth(value, at: keyPath, r)
            default: break
            }
        }
        guard let name else { throw r.error(node, at, "missing required key \"name\"") }
        guard let path else { throw r.error(node, at, "target \(name): missing required key \"path\"", hint: "e.g. path: /srv/\(name)") }
        guard let restart else {
            throw r.error(node, at, "target \(name): missing required key \"restart\"", hint: "e.g. restart: { supervisor: my-service }")
        }
        if !local {
            guard host != nil else { throw r.error(node, at, "target \(name): missing required key \"host\"", hint: "a host name or address, or host: local") }
            guard identity != nil else {
                throw r.error(node, at, "target \(name): missing required key \"identity_file\"", hint: "the private key gobay logs in with")
            }
            guard knownHosts != nil else {
                throw r.error(
                    node, at, "target \(name): missing required key \"known_hosts\"",
                    hint: "host keys are always checked strictly: ssh-keyscan HOST >> known_hosts, after checking them")
            }
        }
        return DeployTargetConfig(
            name: name, host: local ? nil : host, port: port, user: user, identityFile: identity, knownHosts: knownHosts,
            path: path, restart: restart, health: health)
    }

    private static func parseRestart(_ node: Node, at: String, _ r: YAMLReader) throws -> DeployTargetConfig.Restart {
        let entries = try r.mapping(node, at: at, allowed: ["supervisor", "config", "systemd", "command"])
        let keys = Set(entries.map(\.0)).subtracting(["config"])
        guard keys.count == 1, let kind = keys.first else {
            throw r.error(node, at, "name one way to restart", hint: "supervisor: PROGRAM, systemd: UNIT or command: [ARGV...]")
        }
        func value(_ key: String) -> Node? { entries.first { $0.0 == key }?.2 }
        if kind != "supervisor", value("config") != nil {
            throw r.error(node, "\(at).config", "config: goes with supervisor: only")
        }
        switch kind {
        case "supervisor":
            let program = try plainWord(value("supervisor"), "\(at).supervisor", r)
            let config = try value("config").map { try r.nonEmptyString($0, at: "\(at).config") }
            if let config, !config.hasPrefix("/") { throw r.error(value("config"), "\(at).config", "must be an absolute path") }
            return .supervisor(program: program, config: config)
        case "systemd":
            return .systemd(unit: try plainWord(value("systemd"), "\(at).systemd", r))
        default:
            return .command(try argv(value("command"), "\(at).command", r))
        }
    }

    private static func parseHealth(_ node: Node, at: String, _ r: YAMLReader) throws -> DeployTargetConfig.Health {
        let entries = try r.mapping(node, at: at, allowed: ["http", "command", "timeout"])
        func value(_ key: String) -> Node? { entries.first { $0.0 == key }?.2 }
        let timeout = try value("timeout").map { try r.duration($0, at: "\(at).timeout") } ?? 20
        switch (value("http"), value("command")) {
        case (let http?, nil):
            let url = try r.nonEmptyString(http, at: "\(at).http")
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw r.error(http, "\(at).http", "\"\(url)\" is not an http:// or https:// URL")
            }
            return .http(url: url, timeout: timeout)
        case (nil, let command?):
            return .command(try argv(command, "\(at).command", r), timeout: timeout)
        default:
            throw r.error(node, at, "name one check", hint: "http: URL or command: [ARGV...]")
        }
    }

    private static func plainWord(_ node: Node?, _ at: String, _ r: YAMLReader) throws -> String {
        guard let node else { throw r.error(nil, at, "missing") }
        let text = try r.nonEmptyString(node, at: at)
        guard !text.hasPrefix("-"), text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.@:".contains($0)) }) else {
            throw r.error(node, at, "\"\(text)\" is not a program or unit name")
        }
        return text
    }

    private static func argv(_ node: Node?, _ at: String, _ r: YAMLReader) throws -> [String] {
        guard let node else { throw r.error(nil, at, "missing") }
        let items = try r.stringList(node, at: at).map(\.0)
        guard !items.isEmpty else { throw r.error(node, at, "must name a command", hint: "e.g. [/srv/api/bin/reload]") }
        return items
    }
}

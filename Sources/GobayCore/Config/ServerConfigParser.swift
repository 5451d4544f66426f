import Foundation
import Yams

/// Parses the `server:` section and the server-related keys of projects.
enum ServerConfigParser {
    static func parse(_ node: Node, _ r: YAMLReader) throws -> ServerConfig {
        var server = ServerConfig()
        let allowed: Set<String> = [
            "listen", "public_url", "max_builds", "webhook_secret", "tokens", "public_read", "max_body",
            "quiet_period", "grace_period", "header_timeout", "idle_timeout", "max_connections", "log_format",
        ]
        for (key, _, value) in try r.mapping(node, at: "server", allowed: allowed) {
            let path = "server.\(key)"
            switch key {
            case "listen":
                let text = try r.nonEmptyString(value, at: path)
                guard ListenAddress(text) != nil else {
                    throw r.error(value, path, "\"\(text)\" is not host:port", hint: "e.g. listen: 127.0.0.1:8080")
                }
                server.listen = text
            case "public_url": server.publicURL = try r.nonEmptyString(value, at: path)
            case "max_builds": server.maxBuilds = try r.int(value, at: path, min: 1)
            case "webhook_secret":
                server.webhookSecret = try secret(value, at: path, r, allowNone: false)
            case "tokens":
                guard case .sequence(let items) = value else {
                    throw r.error(value, path, "expected a list of \"sha256:<hex>\" or {env: VAR}")
                }
                server.tokens = try items.map { try token($0, at: path, r) }
            case "public_read": server.publicRead = try r.bool(value, at: path)
            case "max_body": server.maxBody = try size(value, at: path, r)
            case "quiet_period": server.quietPeriod = try zeroOrDuration(value, at: path, r)
            case "grace_period": server.gracePeriod = try zeroOrDuration(value, at: path, r)
            case "header_timeout": server.headerTimeout = try r.duration(value, at: path)
            case "idle_timeout": server.idleTimeout = try r.duration(value, at: path)
            case "max_connections": server.maxConnections = try r.int(value, at: path, min: 1)
            case "log_format":
                let text = try r.nonEmptyString(value, at: path)
                guard let format = LogFormat(rawValue: text) else {
                    throw r.error(value, path, "\"\(text)\" is not a log format", hint: "log_format: text or log_format: json")
                }
                server.logFormat = format
            default: break
            }
        }
        return server
    }

    static func secret(_ node: Node, at path: String, _ r: YAMLReader, allowNone: Bool) throws -> SecretSource {
        if case .mapping = node {
            for (key, _, value) in try r.mapping(node, at: path, allowed: ["env"]) where key == "env" {
                return .environment(try r.nonEmptyString(value, at: "\(path).env"))
            }
            throw r.error(node, path, "expected {env: VARIABLE}")
        }
        let text = try r.nonEmptyString(node, at: path)
        if text == "none" {
            guard allowNone else {
                throw r.error(node, path, "\"none\" is only allowed on a project", hint: "set webhook_secret: none on the project instead")
            }
            return .none
        }
        return .literal(text)
    }

    static func token(_ node: Node, at path: String, _ r: YAMLReader) throws -> TokenSource {
        if case .mapping = node {
            if case .environment(let name) = try secret(node, at: path, r, allowNone: false) { return .environment(name) }
        }
        let text = try r.nonEmptyString(node, at: path)
        let hex = text.hasPrefix("sha256:") ? String(text.dropFirst(7)).lowercased() : ""
        guard hex.count == 64, hex.allSatisfy(\.isHexDigit) else {
            throw r.error(
                node, path, "a token must be written as \"sha256:<64 hex digits>\" or {env: VAR}",
                hint: "hash it with: printf %s TOKEN | sha256sum")
        }
        return .sha256(hex)
    }

    static func status(_ node: Node, at path: String, _ r: YAMLReader) throws -> StatusConfig {
        var status = StatusConfig()
        for (key, _, value) in try r.mapping(node, at: path, allowed: ["gitlab", "github"]) {
            let at = "\(path).\(key)"
            var fields: [String: String] = [:]
            let allowed: Set<String> = key == "gitlab" ? ["url", "project_id", "token_env"] : ["url", "repo", "token_env"]
            for (k, _, v) in try r.mapping(value, at: at, allowed: allowed) {
                fields[k] = try r.nonEmptyString(v, at: "\(at).\(k)")
            }
            guard let tokenEnv = fields["token_env"] else { throw r.error(value, at, "missing required key \"token_env\"") }
            if key == "gitlab" {
                guard let url = fields["url"] else { throw r.error(value, at, "missing required key \"url\"") }
                guard let id = fields["project_id"] else { throw r.error(value, at, "missing required key \"project_id\"") }
                status.gitlab = .init(url: url, projectID: id, tokenEnv: tokenEnv)
            } else {
                guard let repo = fields["repo"], repo.split(separator: "/").count == 2 else {
                    throw r.error(value, at, "missing or bad \"repo\"", hint: "repo: owner/name")
                }
                status.github = .init(url: fields["url"] ?? "https://api.github.com", repo: repo, tokenEnv: tokenEnv)
            }
        }
        return status
    }

    static func size(_ node: Node, at path: String, _ r: YAMLReader) throws -> Int {
        let text = try r.nonEmptyString(node, at: path)
        let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            if let n = Int(text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), n > 0 { return n * factor }
        }
        guard let n = Int(text), n > 0 else {
            throw r.error(node, path, "\"\(text)\" is not a size", hint: "write bytes or e.g. 5MiB")
        }
        return n
    }

    static func zeroOrDuration(_ node: Node, at path: String, _ r: YAMLReader) throws -> TimeInterval {
        // "0", "00", "0.0", "0s", "0m", "0h": no time at all.
        if case .scalar(let s) = node {
            var text = Substring(s.string)
            if let last = text.last, "hms".contains(last) { text = text.dropLast() }
            let halves = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            if !halves[0].isEmpty, halves.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0 == "0" } }) { return 0 }
        }
        return try r.duration(node, at: path)
    }
}

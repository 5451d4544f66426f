import Crypto
import Foundation
import GobayCore

/// One loaded gobay.yml with everything derived from it: the resolved webhook secrets, the token
/// hashes, the file's SHA-256 and when it was loaded. A reload swaps the whole value at once, so a
/// request never sees the secrets of one file with the projects of another.
public struct LoadedConfig: Sendable {
    /// The parsed config.
    public let config: GobayConfig
    /// Lowercase hex SHA-256 of the file's bytes as read.
    public let hash: String
    /// When this config was loaded.
    public let loadedAt: Date
    /// The webhook secrets in force.
    let trust: WebhookTrust
    /// The projects' and libraries' repository URLs, normalised once.
    let repositories: RepositoryIndex
    let tokenHashes: [[UInt8]]

    /// Resolves the secrets and tokens `config` names from `environment`; throws naming the
    /// variable that is not set.
    public init(config: GobayConfig, hash: String, environment: [String: String], loadedAt: Date = Date()) throws {
        self.config = config
        self.hash = hash
        self.loadedAt = loadedAt
        trust = try WebhookTrust(config: config, environment: environment)
        repositories = RepositoryIndex(config: config)
        tokenHashes = try config.server.tokens.map { token in
            switch token {
            case .sha256(let hex): return Self.bytes(hex: hex)
            case .environment(let name):
                guard let value = environment[name], !value.isEmpty else {
                    throw GobayError(
                        "server.tokens reads the environment variable \(name), which is not set",
                        hint: "export \(name) before starting gobay serve")
                }
                return Array(SHA256.hash(data: Data(value.utf8)))
            }
        }
    }

    /// Reads, hashes and validates the file at `path`; `listen` overrides `server.listen` (the
    /// `--listen` flag, which a reload keeps).
    public static func read(path: String, listen: String?, environment: [String: String]) throws -> LoadedConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GobayError("cannot read config file \(path)", hint: "check the path, or run `gobay init`")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw GobayError("\(path): not UTF-8 text") }
        var config = try ConfigLoader.parse(text, path: path)
        if let listen { config.server.listen = listen }
        return try LoadedConfig(config: config, hash: FileDigest.sha256(data: data), environment: environment)
    }

    /// Whether `token` is one of the configured API tokens (compared by hash, in constant time).
    func isValidToken(_ token: String) -> Bool {
        let hash = Array(SHA256.hash(data: Data(token.utf8)))
        var found = false
        for known in tokenHashes where ConstantTime.equal(known, hash) { found = true }
        return found
    }

    /// The hash of `token` when it is a configured API token (a dashboard login keeps it, so the
    /// session ends when the token leaves the config).
    func tokenHash(_ token: String) -> [UInt8]? {
        isValidToken(token) ? Array(SHA256.hash(data: Data(token.utf8))) : nil
    }

    /// Whether `hash` is still one of the configured tokens' (constant time).
    func hasTokenHash(_ hash: [UInt8]) -> Bool {
        var found = false
        for known in tokenHashes where ConstantTime.equal(known, hash) { found = true }
        return found
    }

    private static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
            out.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return out
    }
}

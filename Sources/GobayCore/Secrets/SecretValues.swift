import Foundation

/// The secret values gobay knows (webhook secrets, API tokens, status tokens, values read with
/// `{env: …}`, and values of `env:` keys that look secret), masked as `***` wherever they appear
/// in a build log, as GitLab and GitHub Actions mask theirs.
public struct SecretValues: Sendable {
    /// Values shorter than this are not masked: masking "1" would hide every digit of a log.
    public static let minimumLength = 4
    /// The values' UTF-8 bytes.
    private let values: [[UInt8]]
    /// The values by their first four bytes: a line is scanned once, whatever the number of
    /// secrets (a thousand projects' webhook secrets cost what ten do).
    private let byPrefix: [UInt32: [Int]]

    /// Keeps the values long enough to mask.
    public init(_ values: [String]) {
        let kept = Set(values.filter { $0.utf8.count >= Self.minimumLength && $0.count >= Self.minimumLength })
        self.values = kept.sorted().map { Array($0.utf8) }
        var byPrefix: [UInt32: [Int]] = [:]
        for (index, value) in self.values.enumerated() {
            byPrefix[Self.prefix(value, at: 0), default: []].append(index)
        }
        self.byPrefix = byPrefix
    }

    /// Whether there is nothing to mask.
    public var isEmpty: Bool { values.isEmpty }

    /// `text` with every secret value replaced by `***`. Where secrets overlap, everything any
    /// of them covers is masked, as one `***`.
    public func mask(_ text: String) -> String {
        guard !values.isEmpty else { return text }
        let bytes = Array(text.utf8)
        guard bytes.count >= Self.minimumLength else { return text }
        var covered: [Bool]? = nil
        for start in 0...(bytes.count - Self.minimumLength) {
            guard let candidates = byPrefix[Self.prefix(bytes, at: start)] else { continue }
            for index in candidates {
                let value = values[index]
                guard start + value.count <= bytes.count, bytes[start..<(start + value.count)].elementsEqual(value)
                else { continue }
                if covered == nil { covered = [Bool](repeating: false, count: bytes.count) }
                for position in start..<(start + value.count) { covered?[position] = true }
            }
        }
        guard let covered else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var position = 0
        while position < bytes.count {
            if covered[position] {
                out += Array("***".utf8)
                while position < bytes.count && covered[position] { position += 1 }
            } else {
                out.append(bytes[position])
                position += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func prefix(_ bytes: [UInt8], at start: Int) -> UInt32 {
        UInt32(bytes[start]) << 24 | UInt32(bytes[start + 1]) << 16 | UInt32(bytes[start + 2]) << 8
            | UInt32(bytes[start + 3])
    }
}

extension GobayConfig {
    /// Every secret value this config names, read from `environment` where it says `{env: …}`.
    public func secretValues(environment: [String: String] = ProcessInfo.processInfo.environment) -> SecretValues {
        var found: [String] = []
        func add(_ source: SecretSource?) {
            switch source {
            case .literal(let value)?: found.append(value)
            case .environment(let name)?: if let value = environment[name] { found.append(value) }
            default: break
            }
        }
        add(server.webhookSecret)
        for token in server.tokens {
            if case .environment(let name) = token, let value = environment[name] { found.append(value) }
        }
        for project in projects {
            add(project.webhookSecret)
            for tokenEnv in [project.status.gitlab?.tokenEnv, project.status.github?.tokenEnv].compactMap({ $0 }) {
                if let value = environment[tokenEnv] { found.append(value) }
            }
        }
        for project in projects {
            for (key, source) in project.env {
                switch source {
                // Everything read from gobay's environment is masked; a literal when its name says secret.
                case .environment(let name): if let value = environment[name] { found.append(value) }
                case .literal(let value) where SecretMask.looksSecret(key): found.append(value)
                default: break
                }
            }
        }
        for env in environments {
            for (key, value) in env.env where SecretMask.looksSecret(key) {
                found.append(value)
            }
        }
        return SecretValues(found)
    }
}

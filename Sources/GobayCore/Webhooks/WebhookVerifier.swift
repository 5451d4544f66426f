import Crypto
import Foundation

/// Checks that a webhook request was sent by someone who knows one of the project's secrets.
public enum WebhookVerifier {
    /// Whether the request's token or signature matches any of `secrets`.
    ///
    /// `headers` must have lowercased names. A missing header, an empty `secrets` list or only empty
    /// secrets give false: an empty secret would let anyone in. Every secret is checked, with no
    /// early exit, so the timing does not tell which one matched.
    public static func verify(sender: WebhookSender, headers: [String: String], body: Data, secrets: [String])
        -> Bool
    {
        let usable = secrets.filter { !$0.isEmpty }
        guard !usable.isEmpty else { return false }
        var accepted = false
        for secret in usable {
            accepted = matches(sender: sender, headers: headers, body: body, secret: secret) || accepted
        }
        return accepted
    }

    /// Whether the request carries `secret` in the form `sender` uses.
    static func matches(sender: WebhookSender, headers: [String: String], body: Data, secret: String) -> Bool {
        switch sender {
        case .gitlab:
            guard let token = headers["x-gitlab-token"] else { return false }
            return constantTimeEqual(Array(token.utf8), Array(secret.utf8))
        case .github:
            return githubSignatureMatches(headers: headers, body: body, secret: secret)
        case .gitea:
            let plain = hexSignatureMatches(headers["x-gitea-signature"], body: body, secret: secret)
            let github = githubSignatureMatches(headers: headers, body: body, secret: secret)
            return plain || github
        case .gogs:
            return hexSignatureMatches(headers["x-gogs-signature"], body: body, secret: secret)
        }
    }

    /// `X-Hub-Signature-256: sha256=<hex>`, as GitHub (and Gitea, alongside its own header) sends it.
    static func githubSignatureMatches(headers: [String: String], body: Data, secret: String) -> Bool {
        guard let header = headers["x-hub-signature-256"] else { return false }
        let expected = "sha256=" + hexHMACSHA256(secret: secret, body: body)
        return constantTimeEqual(Array(asciiLowercased(trimmed(header)).utf8), Array(expected.utf8))
    }

    /// A header holding the bare hex HMAC-SHA256 of the body.
    static func hexSignatureMatches(_ header: String?, body: Data, secret: String) -> Bool {
        guard let header else { return false }
        let expected = hexHMACSHA256(secret: secret, body: body)
        return constantTimeEqual(Array(asciiLowercased(trimmed(header)).utf8), Array(expected.utf8))
    }

    /// The lowercase hex HMAC-SHA256 of `body` keyed with the UTF-8 bytes of `secret`.
    public static func hexHMACSHA256(secret: String, body: Data) -> String {
        let key = SymmetricKey(data: Data(secret.utf8))
        let code = HMAC<SHA256>.authenticationCode(for: body, using: key)
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in code {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// Compares two byte strings in time that depends only on their lengths, never on where they differ.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt64(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= UInt64(x ^ y)
        }
        return difference == 0
    }

    /// Lowercases ASCII letters only, so hex digits compare case-insensitively without locale rules.
    static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { (65...90).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// Drops surrounding spaces and tabs that proxies sometimes leave on header values.
    static func trimmed(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespaces)
    }
}

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
        let value = trimmed(header)
        guard asciiLowercased(String(value.prefix(7))) == "sha256=" else { return false }
        return hmacMatches(hex: String(value.dropFirst(7)), body: body, secret: secret)
    }

    /// A header holding the bare hex HMAC-SHA256 of the body.
    static func hexSignatureMatches(_ header: String?, body: Data, secret: String) -> Bool {
        guard let header else { return false }
        return hmacMatches(hex: trimmed(header), body: body, secret: secret)
    }

    /// Whether `hex` is the HMAC-SHA256 of `body` under `secret`, checked by swift-crypto in
    /// constant time. Text that is not hex (or not 32 bytes of it) never matches.
    static func hmacMatches(hex: String, body: Data, secret: String) -> Bool {
        guard let code = bytes(fromHex: hex) else { return false }
        let key = SymmetricKey(data: Data(secret.utf8))
        return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: body, using: key)
    }

    /// The bytes that `hex` spells (either case), or nil when it is not an even run of hex digits.
    static func bytes(fromHex hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
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

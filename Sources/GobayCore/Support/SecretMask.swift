import Foundation

/// Hides secrets in what gobay prints: values of variables whose names say they are secret, and
/// passwords inside URLs (`https://user:pass@host` → `https://user:***@host`).
public enum SecretMask {
    /// The value to print for the variable `name`.
    public static func value(_ value: String, name: String) -> String {
        let upper = name.uppercased()
        let secretWords = ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", "APIKEY", "API_KEY", "PRIVATE_KEY"]
        if secretWords.contains(where: { upper.contains($0) }) || upper.hasSuffix("_KEY") { return value.isEmpty ? "" : "***" }
        return urlPasswords(value)
    }

    /// `value` with every URL password replaced by ***.
    public static func urlPasswords(_ value: String) -> String {
        guard let regex = try? NSRegularExpression(pattern: "(://[^/:@\\s,]+:)[^@\\s,/]+@") else { return value }
        let range = NSRange(value.startIndex..., in: value)
        return regex.stringByReplacingMatches(in: value, range: range, withTemplate: "$1***@")
    }
}

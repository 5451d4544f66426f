import Foundation

/// Hides secrets in what gobay prints: values of variables whose names say they are secret, and
/// passwords inside URLs (`https://user:pass@host` → `https://user:***@host`).
public enum SecretMask {
    /// The value to print for the variable `name`.
    public static func value(_ value: String, name: String) -> String {
        if looksSecret(name) { return value.isEmpty ? "" : "***" }
        return urlPasswords(value)
    }

    /// Whether a variable called `name` holds a secret, by its name (TOKEN, SECRET, PASSWORD, …).
    public static func looksSecret(_ name: String) -> Bool {
        let upper = name.uppercased()
        let secretWords = ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", "APIKEY", "API_KEY", "PRIVATE_KEY"]
        return secretWords.contains(where: { upper.contains($0) }) || upper.hasSuffix("_KEY")
    }

    /// `value` with every URL password replaced by ***.
    public static func urlPasswords(_ value: String) -> String {
        guard let regex = try? NSRegularExpression(pattern: "(://[^/:@\\s,]+:)[^@\\s,/]+@") else { return value }
        let range = NSRange(value.startIndex..., in: value)
        return regex.stringByReplacingMatches(in: value, range: range, withTemplate: "$1***@")
    }
}

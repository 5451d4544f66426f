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
    /// Every `://USER:PASSWORD@` becomes `://USER:***@`, USER being one or more characters but
    /// `/`, `:`, `@`, `,` and white space, PASSWORD one or more but `@`, `,`, `/` and white space.
    /// Scanned by hand: every log line passes here, and compiling a regular expression for each
    /// cost more than the line.
    public static func urlPasswords(_ value: String) -> String {
        guard value.contains("://") else { return value }
        var out = ""
        var rest = value[...]
        while let scheme = rest.range(of: "://") {
            out += rest[..<scheme.upperBound]
            let tail = rest[scheme.upperBound...]
            rest = tail
            let userEnd = tail.firstIndex { "/:@,".contains($0) || $0.isWhitespace } ?? tail.endIndex
            guard userEnd > tail.startIndex, userEnd < tail.endIndex, tail[userEnd] == ":" else { continue }
            let passwordStart = tail.index(after: userEnd)
            let password = tail[passwordStart...]
            let passwordEnd = password.firstIndex { "@,/".contains($0) || $0.isWhitespace } ?? password.endIndex
            guard passwordEnd > passwordStart, passwordEnd < password.endIndex, password[passwordEnd] == "@" else { continue }
            out += tail[..<passwordStart] + "***@"
            rest = password[password.index(after: passwordEnd)...]
        }
        return out + rest
    }
}

import Foundation

/// Validation of git ref names by git's check-ref-format rules, plus a ban on a leading '-'
/// so that no ref can ever be read as an option.
public enum GitRef {
    /// Why `name` is not an acceptable ref, or nil when it is.
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "it is empty" }
        if name.hasPrefix("-") { return "it starts with '-'" }
        if name == "@" { return "it is '@'" }
        if name.hasPrefix("/") || name.hasSuffix("/") { return "it starts or ends with '/'" }
        if name.hasSuffix(".") { return "it ends with '.'" }
        if name.contains("..") { return "it contains '..'" }
        if name.contains("//") { return "it contains '//'" }
        if name.contains("@{") { return "it contains '@{'" }
        for scalar in name.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7f { return "it contains a control character" }
            if " ~^:?*[\\".unicodeScalars.contains(scalar) {
                return "it contains '\(scalar)'"
            }
        }
        for component in name.split(separator: "/") {
            if component.hasPrefix(".") { return "a part starts with '.'" }
            if component.hasSuffix(".lock") { return "a part ends with '.lock'" }
        }
        // Not a git rule, but `$(...)`, backticks and quotes have no business in a branch gobay builds.
        if name.contains("$(") || name.contains("`") { return "it contains shell syntax" }
        return nil
    }

    /// Throws a usage error naming the ref and the rule it breaks.
    public static func validate(_ name: String, what: String = "ref") throws {
        if let problem = problem(name) {
            throw GobayError(
                "\(what) \"\(name)\" is not a valid git ref: \(problem)",
                hint: "pass a branch, tag or full ref such as main, v1.2.0 or refs/heads/main")
        }
    }

    /// Whether `text` is a full or abbreviated hex commit id.
    public static func isCommitID(_ text: String) -> Bool {
        (4...64).contains(text.count) && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }
}

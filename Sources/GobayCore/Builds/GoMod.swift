import Foundation

/// What gobay reads from a go.mod: the go and toolchain lines, the required modules and the
/// replaced ones.
public struct GoMod: Sendable {
    /// The `go` line.
    public var go: GoVersion?
    /// The `toolchain` line.
    public var toolchain: GoVersion?
    /// Whether it requires any module.
    public var hasRequirements = false
    /// Required module path → version, from `require` lines and blocks.
    public var requirements: [String: String] = [:]
    /// Module paths a `replace` directive replaces.
    public var replaced: Set<String> = []

    /// Parses go.mod text; what it does not understand is skipped.
    public init(_ text: String) {
        var block: Substring?
        for raw in text.split(separator: "\n") {
            let line = raw.range(of: "//").map { raw[..<$0.lowerBound] } ?? raw[...]
            var words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let first = words.first else { continue }
            if let current = block {
                if first == ")" {
                    block = nil
                    continue
                }
                words.insert(current, at: 0)
            } else if words.count == 2, words[1] == "(" {
                block = first
                if first == "require" { hasRequirements = true }
                continue
            }
            switch words[0] {
            case "require":
                hasRequirements = true
                if words.count >= 3 { requirements[String(words[1])] = String(words[2]) }
            case "replace":
                if words.count >= 2 { replaced.insert(String(words[1])) }
            case "go" where words.count == 2: go = GoVersion(String(words[1]))
            case "toolchain" where words.count == 2: toolchain = GoVersion(String(words[1]))
            default: break
            }
        }
    }

    /// What decides the Go version: the toolchain line, else the go line.
    public var required: GoVersion? { toolchain ?? go }
}

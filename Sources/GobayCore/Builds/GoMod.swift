import Foundation

/// What gobay reads from a go.mod: the Go version it needs.
public struct GoMod: Sendable {
    /// The `go` line's version.
    public var go: GoVersion?
    /// The `toolchain` line's version, which wins over `go` when present.
    public var toolchain: GoVersion?
    /// Whether it has any require directive, i.e. any dependency to download.
    public var hasRequirements = false

    /// Parses the `go` and `toolchain` directives of a go.mod.
    public init(_ text: String) {
        for raw in text.split(separator: "\n") {
            let line = raw.range(of: "//").map { raw[..<$0.lowerBound] } ?? raw[...]
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if words.first == "require" { hasRequirements = true }
            guard words.count == 2 else { continue }
            if words[0] == "go" { go = GoVersion(String(words[1])) }
            if words[0] == "toolchain" { toolchain = GoVersion(String(words[1])) }
        }
    }

    /// The Go version the module needs: its toolchain line, else its go line.
    public var required: GoVersion? { toolchain ?? go }
}

import Foundation
import Yams

/// Walks a YAML document and turns every mistake into a message naming the file, line and key.
struct YAMLReader {
    let file: String

    func error(_ node: Node?, _ key: String, _ problem: String, hint: String? = nil) -> GobayError {
        let line = node?.mark.map { ":\($0.line)" } ?? ""
        return GobayError("\(file)\(line): \(key): \(problem)", hint: hint)
    }

    /// The entries of a mapping in file order, refusing keys not in `allowed`.
    func mapping(_ node: Node, at key: String, allowed: Set<String>?) throws -> [(String, Node, Node)] {
        guard case .mapping(let mapping) = node else {
            throw error(node, key, "expected a mapping (key: value lines), found \(kind(node))")
        }
        var seen = Set<String>()
        var entries: [(String, Node, Node)] = []
        for (k, v) in mapping {
            guard case .scalar(let scalar) = k else { throw error(k, key, "keys must be plain strings") }
            let name = scalar.string
            let path = key.isEmpty ? name : "\(key).\(name)"
            if let allowed, !allowed.contains(name) {
                throw error(
                    k, path, "unknown key \"\(name)\"",
                    hint: "known keys here: \(allowed.sorted().joined(separator: ", "))")
            }
            if !seen.insert(name).inserted { throw error(k, path, "key given twice") }
            entries.append((name, k, v))
        }
        return entries
    }

    func string(_ node: Node, at key: String) throws -> String {
        guard case .scalar(let scalar) = node, !isNull(scalar) else {
            throw error(node, key, "expected a string, found \(kind(node))")
        }
        return scalar.string
    }

    func nonEmptyString(_ node: Node, at key: String) throws -> String {
        let value = try string(node, at: key)
        if value.isEmpty { throw error(node, key, "must not be empty") }
        return value
    }

    func int(_ node: Node, at key: String, min: Int) throws -> Int {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string) else {
            throw error(node, key, "expected a whole number, found \(describe(node))")
        }
        if value < min { throw error(node, key, "must be at least \(min), found \(value)") }
        return value
    }

    func bool(_ node: Node, at key: String) throws -> Bool {
        guard case .scalar(let scalar) = node else { throw error(node, key, "expected true or false") }
        switch scalar.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(node, key, "expected true or false, found \(describe(node))")
        }
    }

    func stringList(_ node: Node, at key: String) throws -> [(String, Node)] {
        guard case .sequence(let sequence) = node else {
            throw error(node, key, "expected a list like [a, b], found \(kind(node))")
        }
        return try sequence.map { (try nonEmptyString($0, at: key), $0) }
    }

    /// Parses durations such as 90s, 30m, 1h30m or a bare number of seconds.
    func duration(_ node: Node, at key: String) throws -> TimeInterval {
        let text = try string(node, at: key)
        if let seconds = Double(text), seconds > 0 { return seconds }
        var total: Double = 0
        var number = ""
        for ch in text {
            if ch.isNumber || ch == "." {
                number.append(ch)
                continue
            }
            guard let value = Double(number) else { throw badDuration(node, key, text) }
            switch ch {
            case "h": total += value * 3600
            case "m": total += value * 60
            case "s": total += value
            default: throw badDuration(node, key, text)
            }
            number = ""
        }
        guard number.isEmpty, total > 0 else { throw badDuration(node, key, text) }
        return total
    }

    private func badDuration(_ node: Node, _ key: String, _ text: String) -> GobayError {
        error(node, key, "\"\(text)\" is not a duration", hint: "write it like 90s, 30m or 1h30m")
    }

    func isNull(_ scalar: Node.Scalar) -> Bool {
        scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    func kind(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let s): return isNull(s) ? "nothing (null)" : "\"\(s.string)\""
        case .alias: return "an alias"
        }
    }

    func describe(_ node: Node) -> String { kind(node) }
}

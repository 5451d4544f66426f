import Foundation

/// The one place a remote command string is made. ssh hands the server a single string, which
/// the remote user's shell parses; every argument gobay sends goes through `quote`, so each
/// reaches the remote program as exactly one argument, whatever it holds (`$(…)`, quotes,
/// newlines, a leading `-`).
public enum RemoteCommand {
    /// `argv` as one POSIX shell command line: each argument single-quoted, a `'` inside written
    /// as `'\''`. Empty arguments stay arguments (`''`). NUL cannot be passed to a program at all,
    /// so an argument holding one is refused.
    public static func line(_ argv: [String]) throws -> String {
        guard !argv.isEmpty else { throw GobayError.failure("no remote command given") }
        return try argv.map(quote).joined(separator: " ")
    }

    /// Several argument vectors as one command line, each run only when the one before exited 0
    /// (`a && b && c`): one round trip to the target for steps that belong together.
    public static func sequence(_ argvs: [[String]]) throws -> String {
        guard !argvs.isEmpty else { throw GobayError.failure("no remote command given") }
        return try argvs.map(line).joined(separator: " && ")
    }

    /// Independent parts in one round trip, for the remote login shell (POSIX, as for `line` and
    /// `sequence`). Each part is argument vectors joined with `&&`, its stderr merged into its
    /// stdout, and is followed by a line `<separator> <exit status>` (with `timed`, then
    /// `<start ns> <end ns>`) that `RemoteParts.split` reads back. With `stopAtFailure`, a part
    /// runs only when the one before exited 0. `separator` is a fresh random word per call, so no
    /// output can forge it.
    public static func parts(_ parts: [[[String]]], separator: String, stopAtFailure: Bool, timed: Bool = false) throws
        -> String
    {
        guard !parts.isEmpty else { throw GobayError.failure("no remote command given") }
        guard !separator.isEmpty, separator.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw GobayError.failure("a part separator must be letters, digits and '-'")
        }
        // `timed`: each part's line also carries its start and end time (ns), so steps that share
        // a round trip each log their own time.
        // One `date` per boundary: a part's end is the next one's start.
        var script = timed ? "t=$(date +%s%N); " : ""
        for part in parts {
            script += "{ \(try sequence(part)); } 2>&1; s=$?; "
            script += timed
                ? "e=$(date +%s%N); printf '\\n%s %s %s %s\\n' \(try quote(separator)) \"$s\" \"$t\" \"$e\"; t=$e; "
                : "printf '\\n%s %s\\n' \(try quote(separator)) \"$s\"; "
            if stopAtFailure { script += "[ \"$s\" -eq 0 ] || exit 0; " }
        }
        return script
    }

    /// One argument, single-quoted for a POSIX shell.
    public static func quote(_ argument: String) throws -> String {
        guard !argument.utf8.contains(0) else {
            throw GobayError("a remote argument contains a NUL byte, which no command can receive", kind: .usage)
        }
        return "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// The output of `RemoteCommand.parts`, one result per part that ran.
enum RemoteParts {
    static func split(_ output: String, separator: String) -> [RemoteResult] {
        var results: [RemoteResult] = []
        var rest = Substring(output)
        let mark = "\n" + separator + " "
        while let found = rest.range(of: mark) {
            let text = String(rest[..<found.lowerBound])
            let after = rest[found.upperBound...]
            let end = after.firstIndex(of: "\n") ?? after.endIndex
            let fields = after[..<end].split(separator: " ")
            let status = fields.first.flatMap { Int32($0) } ?? 255
            var result = RemoteResult(status: status, stdout: text, stderr: "")
            if fields.count == 3, let start = Int64(fields[1]), let stop = Int64(fields[2]), stop >= start {
                result.milliseconds = Int((stop - start) / 1_000_000)
            }
            results.append(result)
            rest = end < after.endIndex ? after[after.index(after: end)...] : after[end...]
        }
        return results
    }
}

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

    /// One argument, single-quoted for a POSIX shell.
    public static func quote(_ argument: String) throws -> String {
        guard !argument.utf8.contains(0) else {
            throw GobayError("a remote argument contains a NUL byte, which no command can receive", kind: .usage)
        }
        return "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

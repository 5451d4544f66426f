import Foundation

/// Runs git with an argument vector and a controlled environment.
public struct Git: Sendable {
    /// The environment every git call gets: no prompts, no user config surprises.
    public static var environment: [String: String] {
        let inherited = ProcessInfo.processInfo.environment
        var env: [String: String] = [
            "PATH": inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
            "HOME": inherited["HOME"] ?? "/root",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "LANG": "C",
        ]
        for key in ["SSH_AUTH_SOCK", "GIT_SSH_COMMAND", "GIT_SSH", "http_proxy", "https_proxy", "no_proxy"] {
            if let value = inherited[key] { env[key] = value }
        }
        return env
    }

    /// Runs git and returns its trimmed stdout, or throws with its stderr. `holding` are
    /// descriptors of locks git inherits (as 3, 4, ...): a lock stays held while git runs, even
    /// when the gobay that took it is killed first.
    @discardableResult
    public static func run(
        _ args: [String], in dir: String? = nil, timeout: TimeInterval = 600, holding: [Int32] = []
    ) throws -> String {
        // gobay runs git only in mirrors and in fresh checkouts it made itself, never in a tree a
        // build wrote to; a checkout handed to a step user trips the dubious-ownership check.
        var spec = ProcessSpec(["git", "-c", "safe.directory=*"] + args, environment: environment, workingDirectory: dir)
        spec.descriptors = holding
        let result = try ProcessRunner.capture(spec, deadline: Date().addingTimeInterval(timeout))
        guard result.outcome.succeeded else {
            throw GitError(args: args, status: result.outcome.status, stderr: result.stderr)
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

import Foundation

/// Calls to the docker CLI, always as argument vectors.
enum Docker {
    /// What the docker client needs from gobay's environment.
    static var clientEnvironment: [String: String] {
        let inherited = ProcessInfo.processInfo.environment
        var env: [String: String] = ["PATH": inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", "HOME": inherited["HOME"] ?? "/root"]
        for key in ["DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"] {
            if let value = inherited[key] { env[key] = value }
        }
        return env
    }

    /// Where the daemon is expected, for error messages.
    static var daemonAddress: String { ProcessInfo.processInfo.environment["DOCKER_HOST"] ?? "unix:///var/run/docker.sock" }

    /// Runs `docker args...` and returns trimmed stdout, or throws with stderr.
    @discardableResult
    static func run(_ args: [String], timeout: TimeInterval = 120) throws -> String {
        guard ProcessRunner.resolveExecutable("docker", environment: clientEnvironment) != nil else {
            throw GobayError("the docker CLI is not installed", hint: "apt-get install docker.io")
        }
        let result = try ProcessRunner.capture(
            ProcessSpec(["docker"] + args, environment: clientEnvironment), deadline: Date().addingTimeInterval(timeout))
        guard result.outcome.succeeded else {
            // The docker CLI says only in words that it found no daemon.
            let stderr = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            if stderr.contains("Cannot connect to the Docker daemon") || stderr.contains("Is the docker daemon running") {
                throw GobayError(
                    "docker daemon not reachable at \(daemonAddress)",
                    hint: "start dockerd (or set DOCKER_HOST); environments with other executors keep working",
                    kind: .unavailable)
            }
            throw DockerError(args: args, status: result.outcome.status, stderr: stderr)
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

import Foundation
import GobayCore

/// Starting test servers that pick their own loopback port and announce it in their output.
public enum LoopbackProcess {
    /// Starts `spec` and waits until `port(output)` finds the port in what it printed; kills it
    /// and throws `what did not start` when it exits or stays silent for `timeout` seconds.
    public static func start(
        _ spec: ProcessSpec, logPrefix: String, what: String, timeout: TimeInterval = 10,
        port: (String) -> Int? = { output in output.split(separator: "\n").first.flatMap { Int($0) } }
    ) throws -> (ChildProcess, Int) {
        let process = try ChildProcess(spec, stdoutPath: logPrefix + ".out", stderrPath: logPrefix + ".err")
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let found = port(process.stdout + process.stderr) { return (process, found) }
            if process.wait(timeout: 0) != nil { break }
            usleep(10_000)
        }
        process.signalGroup(SIGKILL)
        process.wait(timeout: 5)
        throw GobayError.failure("\(what) did not start: \(process.stdout)\(process.stderr)")
    }
}

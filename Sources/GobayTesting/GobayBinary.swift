import Foundation
import GobayCore

/// Runs the real `gobay` executable built from this package, as a user or Jenkins would.
public struct GobayBinary: Sendable {
    /// The executable's path.
    public let path: String
    /// The config file every call passes with --config.
    public let config: String

    /// The result of one call.
    public struct Result: Sendable {
        /// The exit status.
        public var status: Int32
        /// What it printed on stdout.
        public var stdout: String
        /// What it printed on stderr.
        public var stderr: String
    }

    /// Finds the binary: GOBAY_BIN, else `.build/debug/gobay` of this package.
    public init(config: String, filePath: String = #filePath) throws {
        self.config = config
        if let explicit = ProcessInfo.processInfo.environment["GOBAY_BIN"] {
            path = explicit
        } else {
            path = Self.repositoryRoot(filePath: filePath) + "/.build/debug/gobay"
        }
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw GobayError("gobay binary not found at \(path)", hint: "run `swift build` first")
        }
    }

    /// The directory holding Package.swift above `filePath` (a test's #filePath).
    public static func repositoryRoot(filePath: String = #filePath) -> String {
        var root = (filePath as NSString).deletingLastPathComponent
        while root != "/" && !FileManager.default.fileExists(atPath: root + "/Package.swift") {
            root = (root as NSString).deletingLastPathComponent
        }
        return root
    }

    /// Runs `gobay args...` with GOBAY_CONFIG=CONFIG and waits for it.
    @discardableResult
    public func run(_ args: [String], timeout: TimeInterval = 600) throws -> Result {
        let (outcome, out, err) = try ProcessRunner.capture(spec(args), deadline: Date().addingTimeInterval(timeout))
        return Result(status: outcome.status, stdout: out, stderr: err)
    }

    /// The spec of a call, for tests that start it themselves; the config is passed as GOBAY_CONFIG.
    public func spec(_ args: [String]) -> ProcessSpec {
        var env = ProcessInfo.processInfo.environment
        env["GOBAY_CONFIG"] = config
        return ProcessSpec([path] + args, environment: env)
    }
}

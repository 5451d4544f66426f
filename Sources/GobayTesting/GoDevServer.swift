import Foundation
import GobayCore

/// A local stand-in for go.dev/dl on a loopback port: serves a JSON index in go.dev's format and
/// real toolchain tarballs. go.dev itself is on the public internet, which tests cannot reach.
/// Paths under /short/ send only half of each file while announcing its full length.
public final class GoDevServer: Sendable {
    /// The process serving.
    public let process: ChildProcess
    /// The port on 127.0.0.1.
    public let port: Int
    /// The mirror URL to give gobay: http://127.0.0.1:PORT/dl/.
    public var mirror: String { "http://127.0.0.1:\(port)/dl/" }
    /// A mirror whose downloads are cut short.
    public var shortMirror: String { "http://127.0.0.1:\(port)/short/dl/" }

    /// One file the index lists.
    public struct Entry: Sendable {
        /// e.g. "go1.22.10".
        public var version: String
        /// The tarball's path on disk.
        public var tarball: String
        /// The sha256 the index claims.
        public var sha256: String

        /// Creates an entry.
        public init(version: String, tarball: String, sha256: String) {
            self.version = version
            self.tarball = tarball
            self.sha256 = sha256
        }
    }

    /// Serves `entries` from `dir` (a scratch directory).
    public init(entries: [Entry], dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir + "/files", withIntermediateDirectories: true)
        var releases: [[String: Any]] = []
        for entry in entries {
            let name = "\(entry.version).linux-amd64.tar.gz"
            let link = dir + "/files/" + name
            try? FileManager.default.removeItem(atPath: link)
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: entry.tarball)
            let size = (try FileManager.default.attributesOfItem(atPath: entry.tarball)[.size] as? NSNumber)?.intValue ?? 0
            releases.append([
                "version": entry.version, "stable": true,
                "files": [
                    ["filename": "\(entry.version).src.tar.gz", "os": "", "arch": "", "version": entry.version,
                     "sha256": String(repeating: "0", count: 64), "size": 1, "kind": "source"],
                    ["filename": name, "os": "linux", "arch": "amd64", "version": entry.version,
                     "sha256": entry.sha256, "size": size, "kind": "archive"],
                    ["filename": "\(entry.version).darwin-arm64.tar.gz", "os": "darwin", "arch": "arm64",
                     "version": entry.version, "sha256": String(repeating: "1", count: 64), "size": 1, "kind": "archive"],
                ],
            ])
        }
        let index = try JSONSerialization.data(withJSONObject: releases, options: [.prettyPrinted])
        try index.write(to: URL(fileURLWithPath: dir + "/index.json"))
        let script = dir + "/server.py"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        (process, port) = try LoopbackProcess.start(
            ProcessSpec(["python3", script, dir], environment: ProcessInfo.processInfo.environment),
            logPrefix: dir + "/server", what: "the test go.dev server")
    }

    deinit {
        process.signalGroup(SIGKILL)
        process.wait(timeout: 5)
    }

    /// A tarball of `goroot` laid out as go.dev's (a top-level go/ dir), cached by version in the
    /// shared test cache so it is made once.
    public static func tarball(of goroot: String) throws -> String {
        let version = try TestToolchains.version(goroot)
        let cacheRoot = try TestToolchains.sharedGocache(goroot) + "/../tarballs"
        try FileManager.default.createDirectory(atPath: cacheRoot, withIntermediateDirectories: true)
        let path = (cacheRoot as NSString).standardizingPath + "/go\(version).linux-amd64.tar.gz"
        if FileManager.default.fileExists(atPath: path) { return path }
        let parent = (goroot as NSString).deletingLastPathComponent
        let tmp = path + ".tmp-\(UUID().uuidString)"
        let result = try ProcessRunner.capture(
            ProcessSpec(
                ["tar", "-C", parent, "-czf", tmp, "--exclude=__pycache__", "--exclude=__init__.py", "go"],
                environment: ["PATH": "/usr/bin:/bin"]), deadline: Date().addingTimeInterval(300))
        guard result.outcome.succeeded, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw GobayError.failure("cannot make \(path): \(result.stderr)")
        }
        return path
    }

    static let script = #"""
        import http.server, json, os, socketserver, sys

        ROOT = sys.argv[1]

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path, _, query = self.path.partition("?")
                short = path.startswith("/short/")
                if short:
                    path = path[len("/short"):]
                if path == "/dl/" and "mode=json" in query:
                    body = open(os.path.join(ROOT, "index.json"), "rb").read()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                name = path[len("/dl/"):] if path.startswith("/dl/") else ""
                full = os.path.join(ROOT, "files", name)
                if not name or "/" in name or not os.path.exists(full):
                    self.send_error(404)
                    return
                size = os.path.getsize(full)
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                with open(full, "rb") as f:
                    remaining = size // 2 if short else size
                    while remaining > 0:
                        chunk = f.read(min(remaining, 1 << 20))
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                        remaining -= len(chunk)
                if short:
                    self.wfile.flush()
                    self.connection.shutdown(2)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        server = Server(("127.0.0.1", 0), Handler)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#
}

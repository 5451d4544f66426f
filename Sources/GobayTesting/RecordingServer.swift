import Foundation
import GobayCore

/// A loopback HTTP server that records every request (a stand-in for GitLab's and GitHub's
/// commit-status APIs, which are on the public internet). The first `failFirst` requests get 500.
public final class RecordingServer: Sendable {
    /// The server process.
    public let process: ChildProcess
    /// Its port.
    public let port: Int
    /// Where requests are appended as JSON lines.
    public let file: String
    /// http://127.0.0.1:PORT
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// A recorded request.
    public struct Recorded: Sendable {
        /// GET, POST...
        public var method: String
        /// Path and query.
        public var path: String
        /// Headers, names lowercased.
        public var headers: [String: String]
        /// The body as text.
        public var body: String
        /// The body as a JSON object.
        public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] }
    }

    /// Starts recording into `dir`.
    public init(dir: String, failFirst: Int = 0) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        file = dir + "/requests.jsonl"
        let script = dir + "/recorder.py"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        (process, port) = try LoopbackProcess.start(
            ProcessSpec(["python3", script, file, String(failFirst)], environment: ProcessInfo.processInfo.environment),
            logPrefix: dir + "/recorder", what: "the recording server")
    }

    deinit {
        process.signalGroup(SIGKILL)
        process.wait(timeout: 5)
    }

    /// The requests so far.
    public var requests: [Recorded] {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { return nil }
            return Recorded(
                method: object["method"] as? String ?? "", path: object["path"] as? String ?? "",
                headers: object["headers"] as? [String: String] ?? [:], body: object["body"] as? String ?? "")
        }
    }

    static let script = #"""
        import http.server, json, socketserver, sys, threading

        OUT = sys.argv[1]
        fail_first = [int(sys.argv[2])]
        lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace")
                with lock:
                    with open(OUT, "a") as f:
                        f.write(json.dumps({"method": self.command, "path": self.path,
                                            "headers": {k.lower(): v for k, v in self.headers.items()},
                                            "body": body}) + "\n")
                    failing = fail_first[0] > 0
                    if failing:
                        fail_first[0] -= 1
                reply = b'{"id": 93, "status": "pending"}'
                self.send_response(500 if failing else 201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_POST = handle_any
            do_GET = handle_any

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        server = Server(("127.0.0.1", 0), Handler)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#
}

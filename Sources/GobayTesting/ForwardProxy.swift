import Foundation
import GobayCore

/// A plain-HTTP forward proxy on a loopback port, like a company's outbound proxy: it takes
/// absolute-form requests (`GET http://host:port/path`) and tunnels (`CONNECT host:port`, which
/// AsyncHTTPClient sends for every proxied connection), sends each to 127.0.0.1 at the requested
/// port whatever the host (so names only the proxy "knows" work), and appends each request line to
/// `requests`. The internet behind a real proxy is out of reach here.
public final class ForwardProxy: Sendable {
    /// The proxy process.
    public let process: ChildProcess
    /// Its port on 127.0.0.1.
    public let port: Int
    /// The file of request lines it served.
    public let requests: String
    /// `http://127.0.0.1:PORT`, for http_proxy.
    public var url: String { "http://127.0.0.1:\(port)" }

    /// Starts the proxy, keeping its files in `dir`.
    public init(dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        requests = dir + "/requests"
        FileManager.default.createFile(atPath: requests, contents: nil)
        let script = dir + "/proxy.py"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        (process, port) = try LoopbackProcess.start(
            ProcessSpec(["python3", script, requests], environment: ProcessInfo.processInfo.environment),
            logPrefix: dir + "/proxy", what: "the test forward proxy")
    }

    deinit {
        process.signalGroup(SIGKILL)
        process.wait(timeout: 5)
    }

    /// The request lines served so far.
    public var served: [String] {
        ((try? String(contentsOfFile: requests, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    static let script = #"""
        import http.client, http.server, select, socket, socketserver, sys, urllib.parse

        LOG = sys.argv[1]

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_CONNECT(self):
                with open(LOG, "a") as log:
                    log.write(self.requestline + "\n")
                _, _, port = self.path.rpartition(":")
                try:
                    upstream = socket.create_connection(("127.0.0.1", int(port)), timeout=60)
                except (OSError, ValueError):
                    self.send_error(502)
                    return
                self.send_response(200, "Connection established")
                self.end_headers()
                sockets = [self.connection, upstream]
                while True:
                    readable, _, _ = select.select(sockets, [], [], 60)
                    if not readable:
                        break
                    done = False
                    for s in readable:
                        data = s.recv(65536)
                        if not data:
                            done = True
                            break
                        (upstream if s is self.connection else self.connection).sendall(data)
                    if done:
                        break
                upstream.close()
                self.close_connection = True

            def do_GET(self):
                with open(LOG, "a") as log:
                    log.write(self.requestline + "\n")
                url = urllib.parse.urlsplit(self.path)
                if url.scheme != "http" or not url.port:
                    self.send_error(400, "absolute http URL with a port expected")
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", url.port, timeout=60)
                path = url.path + ("?" + url.query if url.query else "")
                upstream.request("GET", path, headers={"Host": url.netloc})
                reply = upstream.getresponse()
                self.send_response(reply.status)
                for name, value in reply.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Connection", "close")
                self.end_headers()
                while True:
                    chunk = reply.read(65536)
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                self.close_connection = True

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        server = Server(("127.0.0.1", 0), Handler)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#
}

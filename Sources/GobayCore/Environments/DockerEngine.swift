import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A minimal client of the Docker Engine API on its unix socket, for the one call on every
/// build's path: inspecting the environment's container. Going through the socket costs about a
/// millisecond; starting the docker CLI costs tens.
enum DockerEngine {
    /// The socket path, when DOCKER_HOST is unset or a unix:// address; nil otherwise (use the CLI).
    static var socketPath: String? {
        guard let host = ProcessInfo.processInfo.environment["DOCKER_HOST"], !host.isEmpty else {
            return "/var/run/docker.sock"
        }
        return host.hasPrefix("unix://") ? String(host.dropFirst("unix://".count)) : nil
    }

    /// The result of a GET: the HTTP status and the body.
    static func get(_ path: String, timeout: TimeInterval = 10) throws -> (status: Int, body: Data) {
        guard let socketPath else { throw EngineUnavailable() }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw EngineUnavailable() }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw EngineUnavailable() }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (i, byte) in bytes.enumerated() { buffer[i] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw EngineUnavailable() }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: docker\r\n\r\n".utf8)
        guard write(fd, request, request.count) == request.count else { throw EngineUnavailable() }
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n > 0 {
                response.append(contentsOf: buffer[0..<n])
            } else if n == 0 {
                break
            } else if errno != EINTR {
                throw EngineUnavailable()
            }
        }
        guard let headerEnd = response.range(of: Data("\r\n\r\n".utf8)),
            let statusLine = String(data: response[..<headerEnd.lowerBound], encoding: .utf8)?.split(separator: "\r\n").first
        else { throw EngineUnavailable() }
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw EngineUnavailable() }
        return (status, response[headerEnd.upperBound...])
    }

    /// The container's state and gobay config-hash label, nil when it does not exist.
    static func inspectContainer(_ name: String) throws -> (status: String, hash: String)? {
        let (status, body) = try get("/containers/\(name)/json")
        if status == 404 { return nil }
        guard status == 200,
            let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
            let state = (object["State"] as? [String: Any])?["Status"] as? String
        else { throw EngineUnavailable() }
        let labels = (object["Config"] as? [String: Any])?["Labels"] as? [String: String] ?? [:]
        return (state, labels["gobay.config-hash"] ?? "")
    }

    /// The host pid of the container's init process, or nil.
    static func containerPid(_ name: String) -> pid_t? {
        guard let (status, body) = try? get("/containers/\(name)/json"), status == 200,
            let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
            let pid = (object["State"] as? [String: Any])?["Pid"] as? Int, pid > 0
        else { return nil }
        return pid_t(pid)
    }

    /// The socket could not be used; callers fall back to the docker CLI, which explains why.
    struct EngineUnavailable: Error {}
}

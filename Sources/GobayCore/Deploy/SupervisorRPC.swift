import AsyncHTTPClient
import Foundation
import NIOCore

/// supervisord's XML-RPC interface, the one `supervisorctl` speaks, reached through a local unix
/// socket (the target's socket forwarded over the deploy's SSH connection, or supervisord's own
/// socket for `host: local`). Restarting this way runs nothing on the target: no shell, no
/// Python start-up for each `supervisorctl` call.
struct SupervisorRPC: Sendable {
    /// The local unix socket that reaches supervisord.
    let socket: String

    /// A fault supervisord answered with (`supervisor/xmlrpc.py`'s `Faults`).
    struct Fault: Error, Sendable, Equatable {
        var code: Int
        var message: String

        static let badName = 10
        static let abnormalTermination = 40
        static let spawnError = 50
        static let alreadyStarted = 60
        static let notRunning = 70
    }

    /// supervisord could not be reached or did not speak XML-RPC (auth, a dead socket, a
    /// forward the target refused): the caller falls back to `supervisorctl`.
    struct Unreachable: Error, Sendable {
        var reason: String
    }

    /// Whether supervisord knows `program` (`getProcessInfo`); nil once it answered that it
    /// does not.
    func state(of program: String, timeout: TimeInterval) async throws(Unreachable) -> String? {
        do {
            let body = try await call("supervisor.getProcessInfo", [.string(program)], timeout: timeout)
            return Self.member("statename", in: body) ?? "UNKNOWN"
        } catch let fault as Fault where fault.code == Fault.badName {
            return nil
        } catch let fault as Fault {
            throw Unreachable(reason: "getProcessInfo answered fault \(fault.code) \(fault.message)")
        } catch let unreachable as Unreachable {
            throw unreachable
        } catch {
            throw Unreachable(reason: "\(error)")
        }
    }

    /// What `supervisorctl restart` does: stop (a stopped program is fine), then start and wait
    /// until it has been RUNNING for its startsecs. Throws the fault that stopped it.
    func restart(_ program: String, timeout: TimeInterval) async throws {
        do {
            _ = try await call("supervisor.stopProcess", [.string(program), .boolean(true)], timeout: timeout)
        } catch let fault as Fault where fault.code == Fault.notRunning {
        }
        _ = try await call("supervisor.startProcess", [.string(program), .boolean(true)], timeout: timeout)
    }

    enum Parameter: Sendable {
        case string(String)
        case boolean(Bool)
    }

    /// One method call; returns the response body, or throws its `Fault` or `Unreachable`.
    func call(_ method: String, _ parameters: [Parameter], timeout: TimeInterval) async throws -> String {
        let body = Self.request(method, parameters)
        guard let url = URL(httpURLWithSocketPath: socket, uri: "/RPC2") else {
            throw Unreachable(reason: "\(socket) cannot be a socket URL")
        }
        let text: String
        do {
            text = try await HTTPClient.withHTTPClient { client in
                var request = HTTPClientRequest(url: url.absoluteString)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "text/xml")
                request.body = .bytes(ByteBuffer(string: body))
                let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
                let bytes = try await response.body.collect(upTo: 1 << 20)
                guard response.status == .ok else {
                    throw Unreachable(reason: "supervisord answered HTTP \(response.status.code)")
                }
                return String(buffer: bytes)
            }
        } catch let unreachable as Unreachable {
            throw unreachable
        } catch {
            throw Unreachable(reason: "\(error)")
        }
        if let fault = Self.fault(in: text) { throw fault }
        guard text.contains("<methodResponse>") else { throw Unreachable(reason: "not an XML-RPC answer") }
        return text
    }

    /// The XML of one method call; every value escaped.
    static func request(_ method: String, _ parameters: [Parameter]) -> String {
        var xml = "<?xml version=\"1.0\"?><methodCall><methodName>\(escape(method))</methodName><params>"
        for parameter in parameters {
            switch parameter {
            case .string(let value): xml += "<param><value><string>\(escape(value))</string></value></param>"
            case .boolean(let value): xml += "<param><value><boolean>\(value ? 1 : 0)</boolean></value></param>"
            }
        }
        return xml + "</params></methodCall>"
    }

    /// The fault in a response, if it is one.
    static func fault(in xml: String) -> Fault? {
        guard xml.contains("<fault>") else { return nil }
        let code = member("faultCode", in: xml).flatMap { Int($0) } ?? -1
        return Fault(code: code, message: member("faultString", in: xml) ?? "")
    }

    /// The scalar value of struct member `name` (`<member><name>n</name><value><T>v</T>…`).
    static func member(_ name: String, in xml: String) -> String? {
        guard let found = xml.range(of: "<name>\(name)</name>") else { return nil }
        let rest = xml[found.upperBound...]
        guard let value = rest.range(of: "<value>"), let end = rest.range(of: "</value>"), value.upperBound <= end.lowerBound
        else { return nil }
        var inner = rest[value.upperBound..<end.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
        // `<int>7</int>`, `<string>x</string>`, or bare text (a string).
        if inner.hasPrefix("<"), let close = inner.firstIndex(of: ">"), let open = inner.range(of: "</", options: .backwards) {
            inner = String(inner[inner.index(after: close)..<open.lowerBound])
        }
        return unescape(inner)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}

/// Where `supervisorctl -c CONFIG` would connect, read from the config's text.
enum SupervisorServer {
    /// The `serverurl` of `[supervisorctl]` (default `http://localhost:9001`) as a socket; nil
    /// when gobay should leave it to `supervisorctl`: a username (its password stays on the
    /// target), an interpolation other than `%(here)s`, or a URL it does not know.
    static func locate(config text: String, path: String) -> SocketAddress? {
        let sections = parse(text)
        let client = sections["supervisorctl"] ?? [:]
        if let user = client["username"], !user.isEmpty { return nil }
        var url = client["serverurl"] ?? "http://localhost:9001"
        if url.contains("%(here)s") {
            guard path.hasPrefix("/") else { return nil }
            url = url.replacingOccurrences(of: "%(here)s", with: (path as NSString).deletingLastPathComponent)
        }
        guard !url.contains("%(") else { return nil }
        if url.hasPrefix("unix://") {
            let socket = String(url.dropFirst("unix://".count))
            return socket.hasPrefix("/") ? .unix(socket) : nil
        }
        if url.hasPrefix("http://") {
            let authority = url.dropFirst("http://".count).split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
            guard let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]),
                (1...65535).contains(port)
            else { return nil }
            let host = String(authority[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            return host.isEmpty ? nil : .tcp(host: host, port: port)
        }
        return nil
    }

    /// Sections of an ini file as supervisor reads them: `key = value` or `key: value`, `;`
    /// and `#` comment lines, ` ;` inline comments; keys lowercased.
    static func parse(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix(";") || line.hasPrefix("#") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let section = current, let split = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else { continue }
            let key = line[..<split].trimmingCharacters(in: .whitespaces).lowercased()
            var value = String(line[line.index(after: split)...])
            if let comment = value.range(of: " ;") { value = String(value[..<comment.lowerBound]) }
            sections[section, default: [:]][key] = value.trimmingCharacters(in: .whitespaces)
        }
        return sections
    }
}

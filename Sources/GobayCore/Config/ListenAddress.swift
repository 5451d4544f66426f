import Foundation
import Yams

/// A parsed `host:port`.
public struct ListenAddress: Sendable {
    /// The host or IP.
    public var host: String
    /// The TCP port.
    public var port: Int

    /// Parses "127.0.0.1:8080", "[::1]:8080" or ":8080" (all interfaces).
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host.isEmpty ? "0.0.0.0" : host
        self.port = port
    }
}

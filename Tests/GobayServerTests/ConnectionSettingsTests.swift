import Foundation
import GobayCore
import Testing

@testable import GobayServer

@Suite("server: connection settings in gobay.yml")
struct ConnectionSettingsTests {
    func parse(_ server: String) throws -> ServerConfig {
        try ConfigLoader.parse("data_dir: /tmp/gobay-unused\nserver:\n\(server)\n", path: "/etc/gobay.yml").server
    }

    @Test func defaultsAndValues() throws {
        let defaults = try parse("  listen: 127.0.0.1:8080")
        #expect(defaults.headerTimeout == 10)
        #expect(defaults.idleTimeout == 60)
        #expect(defaults.maxConnections == nil)
        let set = try parse("  header_timeout: 2s\n  idle_timeout: 1m30s\n  max_connections: 100")
        #expect(set.headerTimeout == 2)
        #expect(set.idleTimeout == 90)
        #expect(set.maxConnections == 100)
    }

    @Test(arguments: [
        ("  header_timeout: soon", "server.header_timeout", "is not a duration"),
        ("  idle_timeout: 0", "server.idle_timeout", "is not a duration"),
        ("  max_connections: 0", "server.max_connections", "must be"),
    ])
    func badValuesNameTheKey(yaml: String, key: String, problem: String) {
        #expect {
            _ = try parse(yaml)
        } throws: { error in
            let text = "\(error)"
            return text.contains(key) && text.contains(problem)
        }
    }

    @Test func theDefaultCapStaysWellBelowTheDescriptorLimit() {
        #expect(DescriptorLimit.defaultConnectionCap(descriptors: 1024) == 512)
        #expect(DescriptorLimit.defaultConnectionCap(descriptors: 20000) == 4096)
        #expect(DescriptorLimit.defaultConnectionCap(descriptors: 1_048_576) == 4096)
    }
}

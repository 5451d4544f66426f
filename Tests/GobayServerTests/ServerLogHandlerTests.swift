import Foundation
import GobayCore
import Logging
import Testing

@testable import GobayServer

@Suite("server log lines: logfmt and JSON")
struct ServerLogHandlerTests {
    let time = Date(timeIntervalSince1970: 0)

    @Test func logfmtQuotesOnlyWhatNeedsIt() {
        let line = ServerLogHandler.line(
            format: .text, time: time, level: .warning, message: "webhook refused",
            metadata: ["b": "plain", "a": "two words", "c": "k=v", "d": "say \"hi\"\n", "e": ""])
        #expect(
            line
                == #"time=1970-01-01T00:00:00.000Z level=warning msg="webhook refused" a="two words" b=plain c="k=v" d="say \"hi\"\n" e="""#)
    }

    @Test func jsonIsOneParsableObject() throws {
        let line = ServerLogHandler.line(
            format: .json, time: time, level: .info, message: "tab\there \u{1}",
            metadata: ["http.path": "/api/v1/builds", "quote": "\"\\"])
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["msg"] == "tab\there \u{1}")
        #expect(object["quote"] == "\"\\")
        #expect(object["http.path"] == "/api/v1/builds")
        #expect(object["level"] == "info")
    }

    @Test func reloadNamesTheSettingsThatNeedARestart() {
        var old = ServerConfig()
        var new = ServerConfig()
        new.maxBuilds = old.maxBuilds + 1
        #expect(ServerState.restartOnlyChanges(old, new).isEmpty)
        old.listen = "127.0.0.1:1"
        new.logFormat = .json
        #expect(ServerState.restartOnlyChanges(old, new) == ["server.listen", "server.log_format"])
    }
}

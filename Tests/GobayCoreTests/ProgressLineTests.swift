import Foundation
import GobayCommandLine
import GobayCore
import GobayTesting
import Synchronization
import Testing

@Suite("toolchain download progress and failures")
struct ProgressLineTests {
    /// 4,700 updates in five seconds redraw at most ten times a second, the last one always, and
    /// the line is ended once before anything else is printed.
    @Test func redrawsAtMostTenTimesASecondAndEndsItsLine() {
        let written = Mutex<[String]>([])
        let clock = Mutex<TimeInterval>(0)
        let bar = ProgressLine(rate: 10, write: { text in written.withLock { $0.append(text) } }, now: { clock.withLock { $0 } })
        let total: Int64 = 4_700
        for done in 1...total {
            clock.withLock { $0 = Double(done) * 5 / Double(total) }
            bar.update(done, total)
        }
        bar.finish()
        bar.finish()
        let lines = written.withLock { $0 }
        let draws = lines.filter { $0.hasPrefix("\r") }
        #expect(draws.count <= 52 && draws.count >= 45, "\(draws.count) redraws")
        #expect(draws.last?.contains("100%") == true)
        #expect(lines.last == "\n")
        #expect(lines.filter { $0 == "\n" }.count == 1)
    }

    /// A mirror that cannot be reached is named as a network failure, not "HTTP 0".
    @Test func unreachableMirrorSaysWhatFailed() throws {
        let sandbox = try TestSandbox("unreachable")
        let config = try sandbox.write("gobay.yml", "data_dir: data\n")
        let result = try GobayBinary(config: config).run(["toolchain", "install", "1.22.10", "--mirror", "http://127.0.0.1:9/"])
        #expect(result.status == 1)
        #expect(!result.stderr.contains("HTTP 0"), "\(result.stderr)")
        #expect(result.stderr.contains("http://127.0.0.1:9/") && result.stderr.contains("failed"), "\(result.stderr)")
    }
}

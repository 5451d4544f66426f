import Foundation
import GobayTesting
import Testing

@testable import GobayCore

/// How long one webhook's transaction takes: a delivery that queues a coalescing build, as
/// `bench/webhooks`' queued+coalesced scenario sends, on a file database like the server's.
/// Opt-in (`GOBAY_TIME_ENQUEUE=N` runs N deliveries) since it measures rather than checks.
@Suite("database: enqueue timing")
struct EnqueueTimingTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["GOBAY_TIME_ENQUEUE"] != nil))
    func coalescedDeliveries() async throws {
        let count = Int(ProcessInfo.processInfo.environment["GOBAY_TIME_ENQUEUE"] ?? "") ?? 2000
        let sandbox = try TestSandbox("enqueue-timing")
        let database = try AppDatabase(path: sandbox.path + "/gobay.sqlite")
        let build = AppDatabase.Enqueue(
            project: "svc", ref: "main", commit: "0123456789abcdef0123456789abcdef01234567", environment: nil,
            trigger: .webhook, coalesce: true, notBefore: Date().addingTimeInterval(3600))
        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            for index in 0..<count {
                _ = try await database.acceptDelivery(sender: "gitlab", id: "delivery-\(index)", builds: [build]) {
                    queued in "{\"queued\":\(queued.map(\.id))}"
                }
            }
        }
        let micros = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
        print("enqueue timing: \(count) coalesced deliveries, \(Int(micros / Double(count))) µs each")
        #expect(try await database.queueDepth() == 1)
    }
}

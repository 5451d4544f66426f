import Foundation
import GobayCore
import Prometheus

/// The server's Prometheus metrics: builds by status and environment, queue depth, build
/// durations per environment, and webhook deliveries by result.
public final class ServerMetrics: @unchecked Sendable {
    /// The registry `/metrics` renders.
    public let registry = PrometheusCollectorRegistry()
    private let lock = NSLock()
    private var histograms: [String: DurationHistogram] = [:]
    private var deliveryCounters: [String: Counter] = [:]
    private var statusGauges: [String: Gauge] = [:]
    private let queueDepth: Gauge
    private let running: Gauge

    /// Creates the metrics.
    public init() {
        queueDepth = registry.makeGauge(name: "gobay_queue_depth", help: "Builds waiting in the queue.")
        running = registry.makeGauge(name: "gobay_builds_running", help: "Builds running in this server.")
    }

    /// Records the duration of a build that ended.
    func buildFinished(_ record: BuildRecord) {
        guard let seconds = record.duration, !record.environment.isEmpty else { return }
        lock.lock()
        let histogram =
            histograms[record.environment]
            ?? registry.makeDurationHistogram(
                name: "gobay_build_duration_seconds", labels: [("environment", record.environment)],
                buckets: [.seconds(1), .seconds(5), .seconds(15), .seconds(30), .seconds(60), .seconds(120), .seconds(300), .seconds(900)],
                help: "Time from start to end of builds.")
        histograms[record.environment] = histogram
        lock.unlock()
        histogram.recordNanoseconds(Int64(seconds * 1e9))
    }

    /// Counts a webhook delivery by sender and result (queued, ignored, duplicate, unauthorized, ...).
    func delivery(sender: String, result: String) {
        let key = sender + "/" + result
        lock.lock()
        let counter =
            deliveryCounters[key]
            ?? registry.makeCounter(
                name: "gobay_webhook_deliveries_total", labels: [("sender", sender), ("result", result)],
                help: "Webhook deliveries by sender and result.")
        deliveryCounters[key] = counter
        lock.unlock()
        counter.increment()
    }

    /// Refreshes the gauges that come from the database, then renders everything.
    func render(database: AppDatabase, running count: Int) -> String {
        if let depth = try? database.queueDepth() { queueDepth.set(to: Double(depth)) }
        running.set(to: Double(count))
        if let counts = try? database.countsByStatus() {
            lock.lock()
            for gauge in statusGauges.values { gauge.set(to: 0) }
            for (status, environment, n) in counts {
                let key = status + "/" + environment
                let gauge =
                    statusGauges[key]
                    ?? registry.makeGauge(
                        name: "gobay_builds", labels: [("status", status), ("environment", environment)],
                        help: "Builds in the history by status and environment.")
                statusGauges[key] = gauge
                gauge.set(to: Double(n))
            }
            lock.unlock()
        }
        return registry.emitToString()
    }
}

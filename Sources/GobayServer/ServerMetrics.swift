import Foundation
import GobayCore
import Prometheus
import Synchronization

/// The server's Prometheus metrics: builds by status and environment, queue depth, build
/// durations per environment, and webhook deliveries by result. The registry hands back the same
/// collector for the same name and labels, so only the status gauges (reset to zero on each render)
/// are remembered here.
public final class ServerMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry = PrometheusCollectorRegistry()
    private let statusGauges = Mutex<[String: Gauge]>([:])
    private let queueDepth: Gauge
    private let running: Gauge

    private static func name(_ name: String, unit: String = "", help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "gobay", metricName: name, unitName: unit, helpText: help)
    }

    /// Creates the metrics.
    public init() {
        queueDepth = registry.makeGauge(descriptor: Self.name("queue_depth", help: "Builds waiting in the queue."))
        running = registry.makeGauge(descriptor: Self.name("builds_running", help: "Builds running in this server."))
    }

    /// Records the duration of a build that ended.
    func buildFinished(_ record: BuildRecord) {
        guard let seconds = record.duration, let environment = record.environment else { return }
        let histogram = registry.makeDurationHistogram(
            descriptor: Self.name("build_duration", unit: "seconds", help: "Time from start to end of builds."),
            labels: [("environment", environment)],
            buckets: [
                .seconds(1), .seconds(5), .seconds(15), .seconds(30), .seconds(60), .seconds(120), .seconds(300),
                .seconds(900),
            ])
        histogram.recordNanoseconds(Int64(seconds * 1e9))
    }

    /// Counts a deployment's targets by how each ended.
    func deploymentFinished(_ record: DeploymentRecord) {
        for target in record.targets {
            registry.makeCounter(
                descriptor: Self.name(
                    "deployments", unit: "total", help: "Deployment targets by project, target and how they ended."),
                labels: [("project", record.project), ("target", target.target), ("status", target.status.rawValue)]
            ).increment()
        }
    }

    /// Counts a webhook delivery by sender and result (queued, ignored, duplicate, unauthorized, ...).
    func delivery(sender: String, result: String) {
        registry.makeCounter(
            descriptor: Self.name("webhook_deliveries", unit: "total", help: "Webhook deliveries by sender and result."),
            labels: [("sender", sender), ("result", result)]
        ).increment()
    }

    /// Refreshes the gauges that come from the database, then renders everything.
    func render(database: AppDatabase, running count: Int) async -> String {
        let depth = try? await database.queueDepth()
        let counts = try? await database.countsByStatus()
        return render(queueDepth: depth, counts: counts, running: count)
    }

    private func render(
        queueDepth depth: Int?, counts: [(status: BuildStatus, environment: String?, count: Int)]?, running count: Int
    ) -> String {
        if let depth { queueDepth.set(to: Double(depth)) }
        running.set(to: Double(count))
        if let counts {
            statusGauges.withLock { gauges in
                for gauge in gauges.values { gauge.set(to: 0) }
                for (buildStatus, planned, n) in counts {
                    // Builds not planned yet have no environment: the label is empty.
                    let (status, environment) = (buildStatus.rawValue, planned ?? "")
                    let gauge = registry.makeGauge(
                        descriptor: Self.name("builds", help: "Builds in the history by status and environment."),
                        labels: [("status", status), ("environment", environment)])
                    gauges[status + "/" + environment] = gauge
                    gauge.set(to: Double(n))
                }
            }
        }
        return registry.emitToString()
    }
}

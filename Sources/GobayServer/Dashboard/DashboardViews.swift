import Foundation
import GobayCore

/// What the dashboard's templates render: plain values, already formatted. Every string here is
/// escaped by the template engine when rendered.
enum DashboardViews {
    /// What every page shows around its content.
    struct Common {
        var title: String
        var assetVersion = DashboardAssets.version
        var loggedIn: Bool
        var csrf: String
        /// A running build's page reloads itself when JavaScript is off.
        var refresh = false
        var flash: String?
        /// The page's path and query, percent-encoded, for the login link's `next`.
        var path: String
    }

    struct BuildRow {
        var id: Int64
        var project: String
        var ref: String
        var shortCommit: String
        var status: String
        var environment: String
        var trigger: String
        var age: String
        var duration: String

        init(_ record: BuildRecord, now: Date) {
            id = record.id
            project = record.project
            ref = record.ref
            shortCommit = String(record.commit.prefix(12))
            status = record.status.rawValue
            environment = record.environment ?? "—"
            trigger = record.trigger.rawValue
            age = DashboardViews.age(record.createdAt, now: now)
            duration = record.duration.map(DashboardViews.duration) ?? "—"
        }
    }

    /// A `buildRows` partial's context.
    struct Rows {
        var rows: [BuildRow]
    }

    struct Library {
        var name: String
        var commit: String
    }

    struct Environment {
        var name: String
        var go: String
        var executor: String
        var busy: Int
        var concurrency: Int
        var queued: Int
        var running: Int
        var libraries: [Library]
        var error: String?
    }

    struct Overview {
        var common: Common
        var environments: [Environment]
        var queue: Rows
        var latest: Rows
    }

    struct Option {
        var value: String
        var label: String
        var selected: Bool
    }

    struct BranchBuild {
        var ref: String
        var build: BuildRow?
    }

    struct TargetRelease {
        var target: String
        var release: Int64?
    }

    struct ProjectRow {
        var name: String
        var environment: String
        var branches: [BranchBuild]
        var targets: [TargetRelease]
    }

    struct Projects {
        var common: Common
        var query: String
        var statuses: [Option]
        var rows: [ProjectRow]
        /// Projects that match, on every page.
        var count: Int
        var page: Int
        var pages: Int
        var previous: String?
        var next: String?
    }

    struct Project {
        var common: Common
        var name: String
        var repo: String
        var environment: String
        var branches: [String]
        var defaultRef: String
        var hasTargets: Bool
        var targets: [TargetRelease]
        var history: Rows
        var older: Int64?
    }

    struct Step {
        var name: String
        var status: String
        var duration: String
    }

    struct Artifact {
        var buildID: Int64
        var name: String
        var size: String
        var sha256: String
    }

    struct Build {
        var common: Common
        var id: Int64
        var status: String
        var project: String
        var ref: String
        var commit: String
        /// The commit message's subject line.
        var message: String?
        var environment: String
        var goVersion: String
        var trigger: String
        var created: String
        var duration: String
        var error: String?
        var tests: String?
        var running: Bool
        var deployable: Bool
        var steps: [Step]
        var hasLibraries: Bool
        var libraries: [Library]
        var artifacts: [Artifact]
        var truncated: Bool
        var shownLines: Int
        var logLines: [String]
        var logOffset: UInt64
    }

    struct CurrentRelease {
        var project: String
        var target: String
        var release: Int64?
        var previous: Int64?
    }

    struct DeploymentTarget {
        var target: String
        var status: String
        var error: String?
    }

    struct Deployment {
        var id: Int64
        var status: String
        var project: String
        var build: Int64
        var strategy: String
        var trigger: String
        var targets: [DeploymentTarget]
        var age: String
    }

    struct Deployments {
        var common: Common
        var current: [CurrentRelease]
        var history: [Deployment]
    }

    struct Login {
        var common: Common
        var next: String
        var failed: String?
        var hours: Int
    }

    struct Message {
        var common: Common
        var heading: String
        var text: String
        var link: String?
        var linkText: String?
    }

    /// "42s", "3m 12s", "1h 05m".
    static func duration(_ seconds: TimeInterval) -> String {
        let total = max(0, Int(seconds.rounded()))
        if seconds < 10 { return String(format: "%.1fs", max(0, seconds)) }
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m \(String(format: "%02d", total % 60))s" }
        return "\(total / 3600)h \(String(format: "%02d", total % 3600 / 60))m"
    }

    /// "just now", "5m ago", "3h ago", "2d ago".
    static func age(_ date: Date, now: Date) -> String {
        let seconds = Int(now.timeIntervalSince(date))
        if seconds < 10 { return "just now" }
        if seconds < 60 { return "\(seconds)s ago" }
        if seconds < 3600 { return "\(seconds / 60)m ago" }
        if seconds < 86_400 { return "\(seconds / 3600)h ago" }
        return "\(seconds / 86_400)d ago"
    }

    /// "1.9 MB", "812 KB", "120 B".
    static func size(_ bytes: Int64) -> String {
        if bytes >= 1_000_000 { return String(format: "%.1f MB", Double(bytes) / 1_000_000) }
        if bytes >= 1_000 { return "\(bytes / 1_000) KB" }
        return "\(bytes) B"
    }
}

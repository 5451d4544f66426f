import Foundation
import GRDB

/// Removes ended builds the retention policy no longer keeps: their rows (steps and artifacts go
/// with them), logs and artifacts. Never a build that is queued or running, nor the newest
/// successful build of each branch (the one a rollback or a deploy would want).
public struct BuildPruner: Sendable {
    let config: GobayConfig
    let database: AppDatabase

    /// A pruner for `config`'s policy over `database`.
    public init(config: GobayConfig, database: AppDatabase) {
        self.config = config
        self.database = database
    }

    /// One build to remove.
    public struct Doomed: Sendable, Equatable {
        /// Its id.
        public var id: Int64
        /// Its project.
        public var project: String
        /// Its status.
        public var status: BuildStatus
        /// Why: "beyond keep_builds", "older than keep_days", "beyond keep_failed".
        public var reason: String
    }

    /// The builds the policy removes, newest first, without removing anything. The database ranks
    /// the builds (one query per distinct policy), so a million rows cost seconds, not minutes.
    public func plan(now: Date = Date()) throws -> [Doomed] {
        var doomed: [Doomed] = []
        for (policy, scope) in scopes() where policy.isActive {
            let cutoff = policy.keepDays.map { now.addingTimeInterval(-Double($0) * 86_400) }
            for build in try database.pruneCandidates(policy: policy, cutoff: cutoff, scope: scope) {
                let reason: String
                if let keep = policy.keepBuilds, build.seen > keep {
                    reason = "beyond keep_builds \(keep)"
                } else if let days = policy.keepDays, build.expired {
                    reason = "older than keep_days \(days)"
                } else if let keep = policy.keepFailed, build.status != .succeeded, build.failedSeen > keep {
                    reason = "beyond keep_failed \(keep)"
                } else {
                    continue
                }
                doomed.append(Doomed(id: build.id, project: build.project, status: build.status, reason: reason))
            }
        }
        return doomed.sorted { $0.id > $1.id }
    }

    /// Which projects each policy covers: every project with its own `retention:` keys gets its
    /// policy; the global one covers the rest, including projects no longer in the config.
    private func scopes() -> [(RetentionConfig, AppDatabase.PruneScope)] {
        var overridden: [String: RetentionConfig] = [:]
        for project in config.projects where project.retention != nil {
            overridden[project.name] = config.retention.overridden(by: project.retention)
        }
        var scopes: [(RetentionConfig, AppDatabase.PruneScope)] = [(config.retention, .allBut(Array(overridden.keys)))]
        for (name, policy) in overridden { scopes.append((policy, .only([name]))) }
        return scopes
    }

    /// Removes what `plan` names: rows first (in batches, one transaction each), then each build's
    /// directory, then the artifact objects no build links to any more. Returns what was removed
    /// and the bytes freed.
    @discardableResult
    public func prune(now: Date = Date()) throws -> (removed: [Doomed], bytes: Int64) {
        let doomed = try plan(now: now)
        var bytes: Int64 = 0
        // Batches keep each write transaction short, so a server's builds and webhooks never wait long.
        for start in stride(from: 0, to: doomed.count, by: 2_000) {
            let batch = doomed[start..<min(start + 2_000, doomed.count)].map(\.id)
            try database.deleteBuilds(batch)
            for id in batch {
                let dir = config.data.build(id).path
                var info = stat()
                guard lstat(dir, &info) == 0 else { continue }
                bytes += Self.size(of: dir)
                try? FileManager.default.removeItem(atPath: dir)
            }
        }
        if !doomed.isEmpty { bytes += ArtifactStore.collect(objects: config.data.objects) }
        return (doomed, bytes)
    }

    /// The bytes only `dir` holds: files with one link (an artifact linked to an object counts
    /// when its object goes).
    private static func size(of dir: String) -> Int64 {
        guard let walk = FileManager.default.enumerator(atPath: dir) else { return 0 }
        var total: Int64 = 0
        while let name = walk.nextObject() as? String {
            var info = stat()
            if lstat(dir + "/" + name, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_nlink == 1 {
                total += Int64(info.st_size)
            }
        }
        return total
    }
}

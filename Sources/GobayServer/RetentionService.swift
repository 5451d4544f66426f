import Foundation
import GobayCore
import Logging
import ServiceLifecycle

/// Prunes builds the retention policy no longer keeps, once at start and then every
/// `retention.interval` (one hour by default), with the config in force at each run, and runs
/// `git maintenance --auto` in the mirrors (builds' fetches skip it). Stops with the server.
struct RetentionService: Service {
    let state: ServerState

    func run() async throws {
        // A graceful shutdown (SIGTERM) cancels the wait, and the loop ends.
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        while !Task.isCancelled {
            let config = state.config
            if config.retention.isActive || config.projects.contains(where: { $0.retention?.isActive == true }) {
                do {
                    // Deleting rows may wait out a lock another process holds, and removing build dirs
                    // blocks: neither on the cooperative pool.
                    let pruner = BuildPruner(config: config, database: state.database)
                    let (removed, bytes) = try await BlockingWork.run("gobay-prune") { try pruner.prune() }
                    if !removed.isEmpty {
                        state.logger.info(
                            "pruned builds", metadata: ["prune.builds": "\(removed.count)", "prune.bytes": "\(bytes)"])
                    }
                } catch {
                    state.logger.warning("pruning failed", metadata: ["error": "\(userMessage(error))"])
                }
            }
            // Mirrors get the `git maintenance --auto` their fetches skip, whatever the policy.
            let dataDir = config.dataDir
            _ = try? await BlockingWork.run("gobay-git-maintenance") { GitMirror.maintain(dataDir: dataDir) }
            // Clean trees of projects the config no longer has.
            let projects = Set(config.projects.map(\.name))
            _ = try? await BlockingWork.run("gobay-trees") { GitMirror.dropTrees(dataDir: dataDir, keeping: projects) }
            try? await Task.sleep(nanoseconds: UInt64(max(1, config.retention.interval) * 1_000_000_000))
        }
    }
}

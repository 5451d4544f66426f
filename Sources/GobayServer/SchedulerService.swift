import Foundation
import GobayCore
import Logging
import ServiceLifecycle

/// Runs the scheduler as part of the server's service group. On graceful shutdown (SIGTERM) it
/// stops claiming, lets running builds finish within the grace period, then cancels the rest.
struct SchedulerService: Service {
    let state: ServerState

    func run() async throws {
        state.scheduler.start()
        state.logger.info("scheduler started", metadata: ["server.max_builds": "\(state.config.server.maxBuilds)"])
        // Wait for the shutdown signal; a cancelled sleep ends the wait too.
        try? await gracefulShutdown()
        state.logger.info("shutting down: waiting for running builds", metadata: ["builds": "\(state.scheduler.running)"])
        let scheduler = state.scheduler
        let grace = state.config.server.gracePeriod
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                scheduler.shutdown(grace: grace)
                done.resume()
            }
            thread.start()
        }
        state.reporter.drain()
        state.logger.info("scheduler stopped")
    }
}

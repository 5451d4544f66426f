import Foundation
import GobayCore
import Logging
import ServiceLifecycle

/// Runs the scheduler as part of the server's service group, each build a child task of it. On
/// graceful shutdown (SIGTERM) it stops claiming, lets running builds finish within the grace
/// period, then cancels the rest and returns once each has been recorded.
struct SchedulerService: Service {
    let state: ServerState

    func run() async throws {
        let scheduler = state.scheduler
        let logger = state.logger
        let state = self.state
        logger.info("scheduler started", metadata: ["server.max_builds": "\(state.config.server.maxBuilds)"])
        await withGracefulShutdownHandler {
            await scheduler.run(grace: { state.config.server.gracePeriod })
        } onGracefulShutdown: {
            logger.info("shutting down: waiting for running builds", metadata: ["builds": "\(scheduler.running)"])
            scheduler.beginShutdown()
        }
        logger.info("scheduler stopped")
    }
}

import GobayCore
import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads gobay.yml on SIGHUP for the server's lifetime (`ServerState.reload()`), instead of the
/// default action of SIGHUP, which ends the process.
struct ConfigReloadService: Service {
    let state: ServerState

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            state.logger.info("SIGHUP: reloading the config", metadata: ["config.path": "\(state.config.path)"])
            state.reload()
        }
    }
}

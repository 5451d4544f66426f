import Foundation
import GobayCore
import Logging

extension ServerState {
    /// Reads the config file again (SIGHUP). A valid file is put in force for the next request and
    /// the next build; builds already running keep the config they started with. An invalid file
    /// is refused with its error in the log, and the config in force stays. Returns whether the
    /// new file is in force.
    @discardableResult
    public func reload() -> Bool {
        let old = loaded
        let path = old.config.path
        let next: LoadedConfig
        do {
            next = try LoadedConfig.read(path: path, listen: listenOverride, environment: environment)
            guard next.config.dataDir == old.config.dataDir else {
                throw GobayError(
                    "\(path): data_dir: changed from \(old.config.dataDir) to \(next.config.dataDir), which a running "
                        + "server cannot move to",
                    hint: "put data_dir back, or restart gobay serve to use the new one")
            }
        } catch {
            let message = (error as? any UserFacingError).map { e in e.hint.map { "\(e.message) (hint: \($0))" } ?? e.message }
            logger.error(
                "config reload refused; the previous config stays in force",
                metadata: ["error": "\(message ?? "\(error)")", "config.path": "\(path)", "config.hash": "\(old.hash)"])
            return false
        }
        holder.replace(with: next)
        scheduler.reload(config: next.config)
        logger.info(
            "config reloaded",
            metadata: [
                "config.path": "\(path)", "config.hash": "\(next.hash)", "config.projects": "\(next.config.projects.count)",
            ])
        let later = Self.restartOnlyChanges(old.config.server, next.config.server)
        if !later.isEmpty {
            logger.warning(
                "some changed server settings take effect only after a restart",
                metadata: ["config.restart_only": "\(later.joined(separator: ","))"])
        }
        return true
    }

    /// The `server:` keys that differ and that only a restart applies (the listener, the reporter's
    /// links, the log format).
    static func restartOnlyChanges(_ old: ServerConfig, _ new: ServerConfig) -> [String] {
        var keys: [String] = []
        if old.listen != new.listen { keys.append("server.listen") }
        if old.publicURL != new.publicURL { keys.append("server.public_url") }
        if old.headerTimeout != new.headerTimeout { keys.append("server.header_timeout") }
        if old.idleTimeout != new.idleTimeout { keys.append("server.idle_timeout") }
        if old.maxConnections != new.maxConnections { keys.append("server.max_connections") }
        if old.logFormat != new.logFormat { keys.append("server.log_format") }
        return keys
    }
}

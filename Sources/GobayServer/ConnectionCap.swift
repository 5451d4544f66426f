import HummingbirdCore
import Logging

/// Caps the open connections below the process's descriptor limit. At the cap the server stops
/// accepting (new connections wait in the kernel's backlog) and says so once in the log, and
/// again when it accepts once more.
struct ConnectionCap: AvailableConnectionsDelegate {
    /// Open connections at most.
    let limit: Int
    let logger: Logger
    private var open = 0
    private var atCap = false

    init(limit: Int, logger: Logger) {
        self.limit = limit
        self.logger = logger
    }

    mutating func connectionOpened() {
        open += 1
        if open >= limit && !atCap {
            atCap = true
            logger.warning(
                "connection cap reached: new connections wait until one closes",
                metadata: ["server.max_connections": "\(limit)", "server.open_connections": "\(open)"])
        }
    }

    mutating func connectionClosed() {
        open -= 1
        if atCap && open < limit {
            atCap = false
            logger.info("below the connection cap again", metadata: ["server.open_connections": "\(open)"])
        }
    }

    func isAcceptingNewConnections() -> Bool { open < limit }
}

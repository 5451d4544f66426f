import ArgumentParser
import GobayCommandLine
import Foundation
import GobayCore
import GobayServer
import Hummingbird
import Logging

/// The server binary behind `gobay serve`: webhooks, the HTTP API and the build queue.
@main
struct GobayServerMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gobay serve",
        abstract: "Run the server: webhooks, the HTTP API, live logs and the build queue.")
    @Option(help: "The config file (default: $GOBAY_CONFIG, then ./gobay.yml).") var config: String?
    @Option(help: "host:port to listen on (default: server.listen, else 127.0.0.1:8080).") var listen: String?

    /// Runs the server; errors become exit code 2 (usage) or 1 (failure) with a message.
    static func main() async { await CommandMain.runAsync(GobayServerMain.self) }

    func run() async throws {
        // A SIGHUP before the reload service traps it must not end the server.
        signal(SIGHUP, SIG_IGN)
        if let listen, ListenAddress(listen) == nil {
            throw GobayError("--listen \"\(listen)\" is not host:port", hint: "e.g. --listen 127.0.0.1:8080")
        }
        let environment = ProcessInfo.processInfo.environment
        let path = try ConfigLoader.locate(explicit: self.config)
        let loaded = try LoadedConfig.read(path: path, listen: listen, environment: environment)
        let config = loaded.config
        let level = environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        LoggingSystem.bootstrap { _ in
            var handler = ServerLogHandler(format: config.server.logFormat)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "gobay")
        logger.logLevel = level
        let state = try ServerState(loaded: loaded, listen: listen, logger: logger, environment: environment)
        logger.info(
            "gobay serve",
            metadata: [
                "server.listen": "\(config.server.listen)", "data_dir": "\(config.dataDir)", "config.path": "\(path)",
                "config.hash": "\(loaded.hash)",
            ])
        let app = try buildApplication(state: state)
        try await app.runService()
    }
}

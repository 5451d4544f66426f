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
        var config = try ConfigLoader.load(path: try ConfigLoader.locate(explicit: self.config))
        if let listen {
            guard ListenAddress(listen) != nil else {
                throw GobayError("--listen \"\(listen)\" is not host:port", hint: "e.g. --listen 127.0.0.1:8080")
            }
            config.server.listen = listen
        }
        var logger = Logger(label: "gobay")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        let state = try ServerState(config: config, logger: logger)
        logger.info("gobay serve", metadata: ["server.listen": "\(config.server.listen)", "data_dir": "\(config.dataDir)"])
        let app = try buildApplication(state: state)
        try await app.runService()
    }
}

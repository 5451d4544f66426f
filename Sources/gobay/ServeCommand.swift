import ArgumentParser
import Foundation
import GobayCore
import GobayServer
import Hummingbird
import Logging

extension GobayCLI {
    /// `gobay serve`: webhooks, the HTTP API and the build queue.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the server: webhooks, the HTTP API, live logs and the build queue.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "host:port to listen on (default: server.listen, else 127.0.0.1:8080).") var listen: String?

        func run() async throws {
            var config = try options.load()
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
}

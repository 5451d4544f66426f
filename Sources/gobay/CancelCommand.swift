import ArgumentParser
import Foundation
import GobayCore

extension GobayCLI {
    /// `gobay cancel BUILD`: stop a build.
    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a queued or running build.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The build id.") var build: Int64
        @Option(help: "A gobay server to ask (default: $GOBAY_SERVER).") var server: String?

        func run() throws {
            if let server = RemoteClient.server(server) {
                let build = self.build
                _ = try RemoteClient.run(server: server) { try await $0.request(.POST, "/api/v1/builds/\(build)/cancel") }
                Terminal.out("cancel requested for build #\(build)")
                return
            }
            let config = try options.load()
            let record = try BuildLookup.find(build, config: config)
            guard !record.status.isFinal else {
                throw GobayError("build #\(build) already ended \(record.status.rawValue)")
            }
            guard try AppDatabase(dataDir: config.dataDir).cancelQueued(build) else {
                throw GobayError(
                    "build #\(build) is running in another process",
                    hint: "cancel it through its server (--server URL), or press Ctrl-C in its `gobay build`")
            }
            Terminal.out("canceled build #\(build)")
        }
    }
}

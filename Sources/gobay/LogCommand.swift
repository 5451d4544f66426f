import ArgumentParser
import Foundation
import GobayCore

extension GobayCLI {
    /// `gobay log BUILD`: a build's log.
    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "log", abstract: "Print a build's log.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The build id.") var build: Int64
        @Flag(name: [.customShort("f"), .long], help: "With a server: follow the log until the build ends.") var follow = false
        @Option(help: "A gobay server to ask (default: $GOBAY_SERVER).") var server: String?

        func run() throws {
            if let server = RemoteClient.server(server) {
                let (build, follow) = (self.build, self.follow)
                try RemoteClient.run(server: server) { remote in
                    guard follow else {
                        return try await remote.stream("/api/v1/builds/\(build)/log", to: FileHandle.standardOutput)
                    }
                    let status = try await remote.follow(build) { Terminal.out($0) }
                    Terminal.error("build #\(build) \(status)")
                    if status != BuildStatus.succeeded.rawValue { throw ExitCode(1) }
                }
                return
            }
            let config = try options.load()
            _ = try BuildLookup.find(build, config: config)
            let path = config.data.build(build).log
            guard let data = FileManager.default.contents(atPath: path) else {
                throw GobayError.failure("build #\(build) has no log at \(path)")
            }
            FileHandle.standardOutput.write(data)
        }
    }
}

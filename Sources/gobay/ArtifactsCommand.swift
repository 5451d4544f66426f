import ArgumentParser
import Foundation
import GobayCore

extension GobayCLI {
    /// `gobay artifacts BUILD`: a build's binaries.
    struct Artifacts: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "artifacts", abstract: "List a build's artifacts.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The build id.") var build: Int64
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let config = try options.load()
            let record = try BuildLookup.find(build, config: config)
            if json { return try Terminal.printJSON(record.artifacts) }
            if record.artifacts.isEmpty { print("build #\(build) (\(record.status.rawValue)) has no artifacts") }
            print(Terminal.table(record.artifacts.map { [$0.name, "\($0.goos)/\($0.goarch)", "\($0.size)", $0.sha256, $0.path] }))
        }
    }
}

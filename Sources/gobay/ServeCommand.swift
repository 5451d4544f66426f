import ArgumentParser
import Foundation
import GobayCore

extension GobayCLI {
    /// `gobay serve`: runs the `gobay-server` binary installed beside this one.
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Run the server: webhooks, the HTTP API, live logs and the build queue.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "host:port to listen on (default: server.listen, else 127.0.0.1:8080).") var listen: String?

        func run() throws {
            let selfPath = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            let server = (selfPath as NSString).deletingLastPathComponent + "/gobay-server"
            guard FileManager.default.isExecutableFile(atPath: server) else {
                throw GobayError(
                    "gobay serve needs the gobay-server binary beside gobay, at \(server)",
                    hint: "build both: swift build -c release --static-swift-stdlib (installs gobay and gobay-server)")
            }
            var argv = [server]
            if let config = options.config { argv += ["--config", config] }
            if let listen { argv += ["--listen", listen] }
            try ProcessRunner.exec(ProcessSpec(argv, environment: ProcessInfo.processInfo.environment))
        }
    }
}

import ArgumentParser
import Foundation
import GobayCore

extension GobayCLI {
    /// `gobay builds`: the build history.
    struct Builds: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "builds", abstract: "List builds, newest first.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "Only this project's builds.") var project: String?
        @Option(help: "How many.") var limit: Int = 20
        @Flag(help: "Print JSON.") var json = false
        @Option(help: "A gobay server to ask (default: $GOBAY_SERVER).") var server: String?

        func run() throws {
            let builds: [BuildRecord]
            if let server = RemoteClient.server(server) {
                var path = "/api/v1/builds?limit=\(limit)"
                if let project { path += "&project=" + (project.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? project) }
                let data = try RemoteClient.run(server: server) { [path] in try await $0.request(.GET, path) }
                builds = try JSONDecoder().decode([BuildRecord].self, from: data)
            } else {
                builds = try localBuilds()
            }
            if json { return try Terminal.printJSON(builds) }
            let rows = builds.map { b in
                [
                    "#\(b.id)", b.project, b.environment ?? "", b.goVersion ?? "", b.status.rawValue, String(b.commit.prefix(12)), b.ref,
                    b.duration.map { String(format: "%.1fs", $0) } ?? "-", Timestamp.string(b.createdAt),
                ]
            }
            print(Terminal.table([["ID", "PROJECT", "ENV", "GO", "STATUS", "COMMIT", "REF", "TIME", "CREATED"]] + rows))
        }

        private func localBuilds() throws -> [BuildRecord] {
            let config = try options.load()
            if let project { _ = try config.project(project) }
            let database = try AppDatabase(dataDir: config.dataDir)
            try BuildRunner.reapInterrupted(database: database, dataDir: config.dataDir)
            return try database.builds(project: project, limit: limit)
        }
    }
}

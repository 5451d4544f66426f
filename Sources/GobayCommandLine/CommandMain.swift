import ArgumentParser
import Foundation
import GobayCore

#if canImport(Glibc)
    import Glibc
#endif

/// How gobay's binaries end: exit 2 for usage and config errors, 1 for failures, 0 for help.
public enum CommandMain {
    /// Parses and runs a synchronous root command (no concurrency runtime at start-up: the CLI
    /// that Jenkins jobs call starts faster).
    public static func run<Root: ParsableCommand>(_ root: Root.Type) -> Never {
        do {
            var command = try Root.parseAsRoot(GlobalOptions.reorder(Array(CommandLine.arguments.dropFirst())))
            try command.run()
            Glibc.exit(0)
        } catch {
            exit(for: error, root)
        }
    }

    /// Parses and runs a root command whose subcommands may be async.
    public static func runAsync<Root: ParsableCommand>(_ root: Root.Type) async -> Never {
        do {
            var command = try Root.parseAsRoot(GlobalOptions.reorder(Array(CommandLine.arguments.dropFirst())))
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            Glibc.exit(0)
        } catch {
            exit(for: error, root)
        }
    }

    /// Prints `error` the way it deserves and exits with its code.
    static func exit<Root: ParsableCommand>(for error: Error, _ root: Root.Type) -> Never {
        switch error {
        case let error as any UserFacingError:
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            Glibc.exit(error.exitCode)
        case let error as ExitCode:
            Glibc.exit(error.rawValue)
        default:
            let code = Root.exitCode(for: error)
            if code == .success {
                print(Root.fullMessage(for: error))
                Glibc.exit(0)
            }
            FileHandle.standardError.write(Data((Root.fullMessage(for: error) + "\n").utf8))
            Glibc.exit(code == .validationFailure ? 2 : 1)
        }
    }
}

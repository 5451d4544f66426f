import ArgumentParser
import Foundation
import GobayCore

#if canImport(Glibc)
    import Glibc
#endif

/// How gobay's binaries end: exit 2 for usage and config errors, 1 for failures, 0 for help.
public enum CommandMain {
    /// Parses the arguments as `Root`, runs the command, and maps every error to an exit code with
    /// a message on stderr.
    public static func run<Root: ParsableCommand>(_ root: Root.Type) async -> Never {
        do {
            var command = try Root.parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            Glibc.exit(0)
        } catch let error as GobayError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            Glibc.exit(error.exitCode)
        } catch let error as ExitCode {
            Glibc.exit(error.rawValue)
        } catch {
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

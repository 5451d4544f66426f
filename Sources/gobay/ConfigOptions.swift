import ArgumentParser
import GobayCommandLine
import Foundation
import Glibc
import GobayCore

/// Options every command that reads gobay.yml takes.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "The config file (default: $GOBAY_CONFIG, then ./gobay.yml).")
    var config: String?

    /// Finds and loads the config; with `onlyProject`, of the projects only that one (see
    /// `ConfigLoader.load`).
    func load(onlyProject: String? = nil) throws -> GobayConfig {
        try ConfigLoader.load(
            path: try ConfigLoader.locate(explicit: config), onlyProject: onlyProject,
            cache: onlyProject == nil ? nil : ConfigCache.user())
    }
}

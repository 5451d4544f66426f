import Foundation

extension GobayConfig {
    /// The data dir's layout.
    public var data: DataDirectory { DataDirectory(dataDir) }
}

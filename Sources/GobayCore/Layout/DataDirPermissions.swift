import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Keeps gobay's own files out of reach of the users steps run as: the history database, build
/// logs and artifacts, and locks are readable by gobay's user alone. Environments and git mirrors
/// stay reachable (steps need them); the data dir itself stays traversable.
enum DataDirPermissions {
    /// Tightens the modes of gobay's files in `dataDir` (cheap: a few chmod calls).
    static func harden(_ dataDir: String) {
        let data = DataDirectory(dataDir)
        for path in [data.builds, data.locks] where mkdir(path, 0o700) != 0 {
            _ = chmod(path, 0o700)
        }
        for file in data.databaseFiles { _ = chmod(file, 0o600) }
    }
}

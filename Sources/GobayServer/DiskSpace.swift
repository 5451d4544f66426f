import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Free space on the file system holding a path, to tell "the repository cannot be fetched" from
/// "the data dir's disk is full" when a git fetch fails (git reports both as a failed command).
enum DiskSpace {
    /// Below this many free bytes a failed fetch is taken for a full disk.
    static let nearlyFull = 256 * 1024

    /// Whether the file system holding `path` (or its nearest existing parent) is (nearly) full.
    static func isFull(at path: String) -> Bool {
        var dir = path
        while !FileManager.default.fileExists(atPath: dir), dir != "/" {
            dir = (dir as NSString).deletingLastPathComponent
        }
        var stats = statvfs()
        guard statvfs(dir, &stats) == 0 else { return false }
        return UInt64(stats.f_bavail) * UInt64(stats.f_frsize) < UInt64(nearlyFull)
    }
}

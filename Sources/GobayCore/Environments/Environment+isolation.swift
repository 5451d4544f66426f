import Foundation

/// How an environment looks from inside a sandbox or container: its mounts, paths and variables.
extension Environment {
    /// Where the toolchain appears inside a sandbox or container.
    public static let isolatedGoroot = "/usr/local/go"
    /// Where the environment's directory appears inside a sandbox or container.
    public static let isolatedRoot = "/go"

    /// The variables a go process sees inside a sandbox or container, where the environment is
    /// mounted at /go and the toolchain at /usr/local/go (or the image's own Go).
    public func isolatedVariables(mode: BuildMode?) -> [String: String] {
        var vars = variables(mode: mode)
        let inside = EnvironmentDirectory(path: Self.isolatedRoot)
        vars["GOROOT"] = Self.isolatedGoroot
        vars["GOPATH"] = inside.gopath
        vars["GOMODCACHE"] = inside.gomodcache
        vars["GOCACHE"] = inside.gocache
        vars["HOME"] = inside.home
        vars["PATH"] = "\(Self.isolatedGoroot)/bin:\(inside.gopath)/bin:/usr/local/bin:/usr/bin:/bin"
        vars["TMPDIR"] = "/tmp"
        return vars
    }

    /// Maps a host path into the sandbox or container view: the environment's directory (and a
    /// shared build cache) move under /go; every other mounted path keeps its host path.
    public func isolatedPath(_ host: String) -> String {
        if host == dir || host.hasPrefix(dir + "/") { return Self.isolatedRoot + host.dropFirst(dir.count) }
        if let cache = config.gocache, host == cache || host.hasPrefix(cache + "/") {
            return EnvironmentDirectory(path: Self.isolatedRoot).gocache + host.dropFirst(cache.count)
        }
        return host
    }

    /// Bind mounts (host → inside) for the symlinks of a GOROOT that point outside it, as
    /// Debian's toolchains do (src → ../../share/go-1.19/src), so they resolve under /usr/local/go.
    func gorootSymlinkMounts() -> [(host: String, target: String)] {
        var mounts: [(String, String)] = []
        let fm = FileManager.default
        func scan(_ relative: String, depth: Int) {
            let hostDir = toolchain.goroot + relative
            for name in (try? fm.contentsOfDirectory(atPath: hostDir)) ?? [] {
                let host = hostDir + "/" + name
                if let link = try? fm.destinationOfSymbolicLink(atPath: host) {
                    let insideDir = Self.isolatedGoroot + relative
                    let target = link.hasPrefix("/") ? link : ((insideDir + "/" + link) as NSString).standardizingPath
                    let resolved = (host as NSString).resolvingSymlinksInPath
                    if !target.hasPrefix(Self.isolatedGoroot + "/") { mounts.append((resolved, target)) }
                } else if depth > 0, (try? fm.attributesOfItem(atPath: host)[.type] as? FileAttributeType) == .typeDirectory {
                    scan(relative + "/" + name, depth: depth - 1)
                }
            }
        }
        scan("", depth: 1)
        return mounts
    }
}

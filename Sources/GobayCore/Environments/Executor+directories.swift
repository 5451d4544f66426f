import Foundation

extension Executor {
    /// Prepares the environment's directories and, when steps run as another user, hands the
    /// environment (and a configured build cache) to that user once.
    func prepareDirectories(_ environment: Environment) throws {
        try environment.prepare()
        guard let stepUser else { return }
        try Ownership.checkReachable(environment.dir, by: stepUser, what: "environment \"\(environment.name)\"")
        let owned = [environment.dir] + (environment.config.gocache.map { [$0] } ?? [])
        // Each directory of the layout, not only the top: `gobay lib update` may have made the
        // environment's dir (and GOPATH) for a library checkout before any step ran.
        let layout = environment.layout
        let checked = owned + [layout.gopath, layout.gopath + "/src", layout.gomodcache, layout.home, layout.work, layout.out]
            + (environment.config.gocache == nil ? [layout.gocache] : [])
        let foreign = checked.filter { Ownership.owner(of: $0) != stepUser }
        if !foreign.isEmpty { try Ownership.hand(foreign, to: stepUser) }
        // Only this environment's user may enter it: another environment's steps (another
        // user) can neither read nor write its GOPATH, caches, checkouts or out dirs.
        for dir in owned { _ = chmod(dir, 0o700) }
    }
}

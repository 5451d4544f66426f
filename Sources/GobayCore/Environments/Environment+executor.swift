import Foundation

/// The executor an environment runs its steps with, and the user they run as.
extension Environment {
    /// The executor of this environment's kind.
    public func makeExecutor(dataDir: String) throws -> Executor {
        switch config.executor {
        case .host: return HostExecutor(environment: self, stepUser: try stepUser(dataDir: dataDir))
        case .sandbox: return SandboxExecutor(environment: self, dataDir: dataDir, stepUser: try stepUser(dataDir: dataDir))
        case .docker: return DockerExecutor(environment: self, dataDir: dataDir)
        }
    }

    /// The user host and sandbox steps run as, nil for gobay's own: `user:` when configured;
    /// else, when gobay is root, a dedicated unprivileged user per environment (`gobay-<env>`,
    /// created on first use) unless `allow_root_builds: true`.
    func stepUser(dataDir: String) throws -> ProcessUser? {
        if let configured = config.user {
            guard let user = ProcessUser.parse(configured) else {
                throw GobayError(
                    "environment \"\(name)\": user \"\(configured)\" does not exist",
                    hint: "create it (useradd --system \(configured)), or give uid:gid")
            }
            if user == .current { return nil }
            guard getuid() == 0 else {
                throw GobayError(
                    "environment \"\(name)\" runs steps as user \(configured), which needs gobay to run as root",
                    hint: "run gobay as root, or remove user: to run steps as gobay's own user")
            }
            return user
        }
        guard getuid() == 0, !config.allowRootBuilds else { return nil }
        return try ProcessUser.dedicated(Self.buildUserName(name), lockPath: DataDirectory(dataDir).useraddLock)
    }

    /// The dedicated build user of environment `name`: `gobay-<name>`, or a hash when the name is
    /// not a valid user name.
    static func buildUserName(_ name: String) -> String {
        let allowed = { (c: Unicode.Scalar) in ("a"..."z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-" }
        if name.count <= 24, let first = name.unicodeScalars.first, first != "-", name.unicodeScalars.allSatisfy(allowed) {
            return "gobay-" + name
        }
        return "gobay-" + FileDigest.sha256(data: Data(name.utf8)).prefix(12)
    }
}

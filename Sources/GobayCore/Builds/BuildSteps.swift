import Foundation

/// The steps of one build. Each records itself in the history and the log, and every go and git
/// call is an argument vector run through the environment's executor. Cancelling the task ends
/// the step running and the build with `canceled`.
struct BuildSteps: Sendable {
    let plan: BuildPlan
    let id: Int64
    let dir: BuildDirectory
    let log: BuildLog
    let deadline: Date
    let database: AppDatabase
    let gopathLock: FileLock
    let libraries: [LibraryConfig]
    let dataDir: String

    private var env: Environment { plan.environment }
    let executor: Executor
    private var goEnv: [String: String] {
        var vars = executor.variables(mode: plan.mode)
        for (key, value) in projectEnv { vars[key] = value }
        vars[BuildRunner.markerVariable] = marker
        if vendored {
            // Build from vendor/, whatever go.mod's go line would choose, unless the config says otherwise.
            let flags = vars["GOFLAGS"] ?? ""
            if !flags.contains("-mod=") { vars["GOFLAGS"] = (flags.isEmpty ? "" : flags + " ") + "-mod=vendor" }
        }
        return vars
    }

    /// Whether the module checkout vendors its dependencies (vendor/modules.txt): then nothing is
    /// downloaded and every go command uses -mod=vendor, so it builds offline.
    private var vendored: Bool {
        plan.mode == .module
            && FileManager.default.fileExists(atPath: env.workDir(project: plan.project.name) + "/vendor/modules.txt")
    }
    /// Marks every process of this build, so a later gobay can find leftovers of a killed one.
    let marker: String
    /// The project's own `env:`, resolved (over the environment's).
    let projectEnv: [String: String]

    /// One built binary before it is recorded.
    struct Built {
        var name: String
        var path: String
        var target: BuildTarget
    }

    /// Checks out the commit: a per-project work dir in module mode, GOPATH/src/<import_path>
    /// (under the GOPATH write lock) in GOPATH mode. Returns the directory to build in.
    func fetch() async throws -> String {
        try await step("fetch") {
            log.write("fetch", "mirror \(plan.mirror.url) is up to date; checking out \(plan.commit)")
            let (mirror, commit, owner) = (plan.mirror, plan.commit, executor.stepUser)
            if plan.mode == .gopath, let importPath = plan.project.importPath {
                let target = env.gopath + "/src/" + importPath
                try await withGopathWriteLock {
                    try await BlockingThread.run("gobay-checkout-\(id)") {
                        try mirror.checkout(commit: commit, into: target, owner: owner)
                    }
                }
                return target
            }
            let target = env.workDir(project: plan.project.name)
            try await BlockingThread.run("gobay-checkout-\(id)") {
                try mirror.checkout(commit: commit, into: target, owner: owner)
            }
            return target
        }
    }

    /// Module mode: `go mod download`. GOPATH mode: places missing shared libraries and
    /// `go get -d`s other missing imports, under the GOPATH write lock.
    func deps(workDir: String) async throws {
        try await step("deps") {
            if plan.mode == .module {
                let goMod = (try? String(contentsOfFile: workDir + "/go.mod", encoding: .utf8)).map(GoMod.init)
                if goMod?.hasRequirements == false {
                    log.write("deps", "go.mod requires nothing; no modules to download")
                    return
                }
                if vendored {
                    log.write("deps", "vendor/modules.txt present: building from vendor/ with -mod=vendor; no modules to download")
                    return
                }
                try await go(["go", "mod", "download"], in: workDir, step: "deps")
                return
            }
            let missing = try await missingImports(workDir)
            if missing.isEmpty {
                log.write("deps", "all imports are in GOPATH")
                return
            }
            try await withGopathWriteLock {
                var others: [String] = []
                var placed = Set<String>()
                for path in missing {
                    if let lib = libraries.first(where: { path == $0.importPath || path.hasPrefix($0.importPath + "/") }) {
                        if placed.insert(lib.name).inserted {
                            try await BlockingThread.run("gobay-library-\(id)") { try place(lib) }
                        }
                    } else {
                        others.append(path)
                    }
                }
                if !others.isEmpty {
                    try await go(["go", "get", "-d", "--"] + others, in: workDir, step: "deps")
                }
            }
        }
    }

    /// `-tags=a,b` when the project sets build_tags.
    private var tagsFlag: [String] {
        plan.project.buildTags.isEmpty ? [] : ["-tags=" + plan.project.buildTags.joined(separator: ",")]
    }

    /// `go generate ./...`, when the project asks for it.
    func generate(workDir: String) async throws {
        try await step("generate") { try await go(["go", "generate"] + tagsFlag + ["./..."], in: workDir, step: "generate") }
    }

    /// `go test -json [test_flags] ./...`: the tests' output streams into the log as it comes;
    /// the counts go into the build's record and a JUnit report (`junit.xml`) into its artifacts,
    /// whether the tests pass or not.
    func test(workDir: String) async throws {
        try await step("test") {
            let report = GoTestReport { line in log.write("test", line) }
            var failure: Error?
            do {
                try await go(
                    ["go", "test", "-json"] + tagsFlag + plan.project.testFlags + ["./..."], in: workDir, step: "test",
                    onLine: report.feed)
            } catch {
                failure = error
            }
            let summary = report.summary
            if !report.cases.isEmpty {
                log.write(
                    "test", "\(summary.passed) passed, \(summary.failed) failed, \(summary.skipped) skipped"
                        + (summary.failedTests.isEmpty ? "" : ": " + summary.failedTests.joined(separator: ", ")))
                try database.setTestSummary(id, summary)
                let junit = dir.junit
                let data = Data(report.junitXML(mask: log.mask).utf8)
                try AtomicFile.write(data, to: junit)
                try database.addArtifacts(
                    id, [ArtifactRecord(name: "junit.xml", path: junit, sha256: FileDigest.sha256(data: data),
                                        size: Int64(data.count), goos: "", goarch: "")])
            }
            if let failure { throw failure }
        }
    }

    /// The directory steps write this build's binaries to: inside the environment, where the
    /// step can write; gobay copies them out into the artifact store.
    var outDir: String { env.outRoot + "/" + String(id) }

    /// `go build -trimpath` per target into the environment's out dir, up to the environment's
    /// concurrency at once. Placeholders in ldflags are expanded once, so every binary of the build
    /// carries the same `{date}`.
    func build(workDir: String) async throws -> [Built] {
        try await step("build") {
            let host = BuildTarget(goos: "linux", goarch: GoDevIndex.hostArch)
            let targets = plan.project.targets.isEmpty ? [host] : plan.project.targets
            let ldflags = plan.project.ldflags.map(expand)
            let jobs = targets.map { target -> (Built, [String], [String: String]) in
                var name = targets.count == 1 ? plan.project.output : "\(plan.project.output)-\(target.goos)-\(target.goarch)"
                if target.goos == "windows" { name += ".exe" }
                var args = ["go", "build", "-trimpath"] + tagsFlag + ["-o", executor.path(outDir + "/" + name)]
                if let ldflags { args.append("-ldflags=" + ldflags) }
                args.append(plan.project.package)
                var vars = goEnv
                vars["GOOS"] = target.goos
                vars["GOARCH"] = target.goarch
                return (Built(name: name, path: outDir + "/" + name, target: target), args, vars)
            }
            var failures: [Int: Error] = [:]
            let width = max(1, min(env.config.concurrency, jobs.count))
            // Batches of `width`: each batch's child tasks end before the next starts, so at most `width` links run.
            for start in stride(from: 0, to: jobs.count, by: width) {
                let batch = Array(jobs[start..<min(start + width, jobs.count)])
                await withTaskGroup(of: (Int, Error?).self) { group in
                    for (index, (built, args, vars)) in batch.enumerated() {
                        group.addTask {
                            log.write("build", "go build for \(built.target.goos)/\(built.target.goarch) -> \(built.name)")
                            do {
                                try await go(args, in: workDir, step: "build", environment: vars)
                                return (start + index, nil)
                            } catch {
                                return (start + index, error)
                            }
                        }
                    }
                    for await (index, error) in group { if let error { failures[index] = error } }
                }
            }
            // The first failing target (in config order) ends the build.
            if let first = failures.sorted(by: { $0.key < $1.key }).first { throw first.value }
            return jobs.map(\.0)
        }
    }

    /// Copies each binary into the artifact store (no step can write there) and records its
    /// sha256 and size; the out dir is removed. A build whose output is not a regular file fails.
    func artifacts(_ built: [Built]) async throws {
        try await step("artifacts") {
            let (dir, id, envDir, log) = (dir, id, env.dir, log)
            // Copying and hashing binaries of many megabytes: off the cooperative pool.
            let records = try await BlockingThread.run("gobay-artifacts-\(id)") {
                let store = ArtifactStore(directory: dir.artifacts)
                return try built.map { b -> ArtifactRecord in
                    let stored = try store.store("out/\(id)/\(b.name)", below: envDir, as: b.name)
                    log.write("artifacts", "\(b.name) \(stored.size) bytes sha256 \(stored.sha256)")
                    return ArtifactRecord(
                        name: b.name, path: stored.path, sha256: stored.sha256, size: stored.size, goos: b.target.goos,
                        goarch: b.target.goarch)
                }
            }
            try database.addArtifacts(id, records)
        }
    }

    // MARK: - helpers

    private func step<T>(_ name: String, _ body: () async throws -> T) async throws -> T {
        if Task.isCancelled { throw StepFailure(status: .canceled, message: "\(name): canceled") }
        let stepID = try database.startStep(id, name: name)
        do {
            let value = try await body()
            try database.finishStep(stepID, status: .succeeded)
            return value
        } catch let failure as StepFailure {
            try? database.finishStep(stepID, status: StepStatus(endingWith: failure.status))
            throw failure
        } catch let error as GobayError {
            try? database.finishStep(stepID, status: .failed)
            throw StepFailure(status: .failed, message: "\(name): \(error.message)")
        } catch {
            try? database.finishStep(stepID, status: .failed)
            throw StepFailure(status: .failed, message: "\(name): \(error)")
        }
    }

    private func go(
        _ args: [String], in dir: String, step: String, environment: [String: String]? = nil,
        onLine: ((String) -> Void)? = nil
    ) async throws {
        log.write(step, "$ " + args.joined(separator: " "))
        let outcome = try await executor.run(
            StepCommand(
                args, workingDirectory: dir, environment: environment ?? goEnv, writable: [dir, outDir]),
            deadline: deadline
        ) { line in
            if let onLine { onLine(line) } else { log.write(step, line) }
        }
        if outcome.canceled { throw StepFailure(status: .canceled, message: "\(step): canceled") }
        if outcome.timedOut {
            throw StepFailure(
                status: .timedOut, message: "\(step): timed out after the project's timeout of \(Int(plan.project.timeout))s")
        }
        if outcome.status != 0 {
            throw StepFailure(status: .failed, message: "\(step): `\(args.prefix(2).joined(separator: " "))` exited \(outcome.status)")
        }
    }

    private func withGopathWriteLock<T>(_ body: () async throws -> T) async throws -> T {
        guard await gopathLock.lock(shared: false, deadline: deadline) else {
            throw StepFailure(
                status: Task.isCancelled ? .canceled : .timedOut, message: "gave up waiting for the GOPATH lock")
        }
        defer { gopathLock.unlock() }
        return try await body()
    }

    private func missingImports(_ workDir: String) async throws -> [String] {
        var lines: [String] = []
        let outcome = try await executor.run(
            StepCommand(
                ["go", "list", "-e", "-deps"] + tagsFlag + ["-f", "{{if .Error}}{{.ImportPath}}{{end}}", "./..."],
                workingDirectory: workDir, environment: goEnv, writable: [workDir]), deadline: deadline
        ) { lines.append($0) }
        guard outcome.succeeded else {
            throw StepFailure(status: .failed, message: "deps: go list failed: \(lines.suffix(5).joined(separator: "; "))")
        }
        let own = plan.project.importPath ?? ""
        return lines.filter {
            !$0.isEmpty && !$0.contains(" ") && $0 != own && !$0.hasPrefix(own + "/") && !$0.hasPrefix(".")
        }
    }

    /// Places a library into GOPATH/src: checked out beside its final place, then renamed in, so
    /// no build ever sees half of it.
    private func place(_ lib: LibraryConfig) throws {
        let mirror = GitMirror(url: lib.repo, dataDir: dataDir)
        try mirror.update()
        let commit = try mirror.resolve(ref: try lib.branch ?? mirror.defaultBranch())
        let target = env.gopath + "/src/" + lib.importPath
        log.write("deps", "placing library \(lib.name) (\(lib.importPath)) at \(commit)")
        let parent = (target as NSString).deletingLastPathComponent
        let staging = parent + "/.tmp-lib-\(UUID().uuidString)"
        try mirror.checkout(commit: commit, into: staging, owner: executor.stepUser)
        if FileManager.default.fileExists(atPath: target) {
            let old = parent + "/.old-lib-\(UUID().uuidString)"
            rename(target, old)
            try? FileManager.default.removeItem(atPath: old)
        }
        guard rename(staging, target) == 0 else {
            try? FileManager.default.removeItem(atPath: staging)
            throw StepFailure(status: .failed, message: "cannot place \(lib.importPath): \(String(cString: strerror(errno)))")
        }
    }

    private func expand(_ ldflags: String) -> String {
        let values = [
            "{commit}": plan.commit,
            "{short_commit}": String(plan.commit.prefix(7)),
            "{ref}": plan.ref,
            "{build}": String(id),
            "{date}": String(Timestamp.string(Date()).prefix(19)) + "Z",
        ]
        var out = ldflags
        for (key, value) in values { out = out.replacingOccurrences(of: key, with: value) }
        return out
    }
}

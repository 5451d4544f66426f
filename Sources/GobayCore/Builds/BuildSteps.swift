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
    let config: GobayConfig
    private var libraries: [LibraryConfig] { config.libraries }

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
    /// downloaded and every go command uses -mod=vendor, so it builds offline. The work dir is the
    /// step user's: looked at without following a link (one to a path of root's must not tell
    /// gobay what is there).
    private var vendored: Bool {
        guard plan.mode == .module,
            let workDir = try? PlacementDirectory(env.workDir(project: plan.project.name), anchor: env.dir, owner: nil, create: false)
        else { return false }
        return workDir.holdsRegularFile("vendor/modules.txt")
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
            // Hard links to a clean tree where they are safe (as for libraries); `go generate`
            // rewrites sources, so it gets files of its own.
            let (data, project, madeCleanTree) = (config.data, plan.project.name, plan.madeCleanTree)
            if Ownership.mayLinkGobayFiles(to: owner), let owner, !plan.project.generate {
                try await BlockingThread.run("gobay-checkout-\(id)") {
                    try mirror.linkedCheckout(
                        commit: commit, trees: data.projectTrees(project), lock: data.projectTreesLock(project), into: target,
                        owner: owner, madeCleanTree: madeCleanTree)
                }
                return target
            }
            try await BlockingThread.run("gobay-checkout-\(id)") {
                try mirror.checkout(commit: commit, into: target, owner: owner)
            }
            return target
        }
    }

    /// Module mode: points tracked libraries at the environment's checkout, then `go mod
    /// download`. GOPATH mode: brings the libraries it imports up to date in this environment,
    /// then `go get -d`s other missing imports under the GOPATH write lock. Returns the
    /// libraries the build uses.
    func deps(workDir: String) async throws -> [LibraryConfig] {
        try await step("deps") {
            if plan.mode == .module {
                // The work dir is the step user's: its go.mod is read (and rewritten) in the work
                // dir reached without following a link, and only as a regular file.
                let place = try PlacementDirectory(workDir, anchor: env.dir, owner: nil, create: false)
                let goMod = place.readRegularFile("go.mod").map { GoMod(String(decoding: $0, as: UTF8.self)) }
                let used = try await trackLibraries(goMod, in: place)
                if goMod?.hasRequirements == false {
                    log.write("deps", "go.mod requires nothing; no modules to download")
                    return used
                }
                if vendored {
                    log.write("deps", "vendor/modules.txt present: building from vendor/ with -mod=vendor; no modules to download")
                    return used
                }
                try await go(["go", "mod", "download"], in: workDir, step: "deps")
                return used
            }
            var imports = try await listImports(workDir)
            let used = libraries.filter { lib in imports.contains { lib.covers($0.path) } }
            var placed = false
            for lib in used {
                guard lib.lists(env.name, in: config) else {
                    throw StepFailure(
                        status: .failed,
                        message: "deps: the project imports library \(lib.name) (\(lib.importPath)), which is not placed in environment \(env.name); "
                            + "add \(env.name) to libraries.\(lib.name).environments")
                }
                let missing = imports.contains { lib.covers($0.path) && $0.missing }
                try await bringUpToDate(lib)
                placed = placed || missing
            }
            // A library placed just now brings imports of its own.
            if placed { imports = try await listImports(workDir) }
            let others = imports.filter { dep in dep.missing && !used.contains { $0.covers(dep.path) } }.map(\.path)
            if others.isEmpty {
                log.write("deps", "all imports are in GOPATH")
                return used
            }
            try await withGopathWriteLock {
                try await go(["go", "get", "-d", "--"] + others, in: workDir, step: "deps")
            }
            return used
        }
    }

    /// Module mode: for each library the environment holds with `track: true` whose module
    /// go.mod requires, brings the checkout up to date and adds a `replace` pointing at it to
    /// this build's own go.mod (the work dir is a fresh checkout; the repository is never
    /// changed, and the library is never fetched from the network).
    private func trackLibraries(_ goMod: GoMod?, in workDir: PlacementDirectory) async throws -> [LibraryConfig] {
        guard let goMod else { return [] }
        var used: [LibraryConfig] = []
        var replaces = ""
        for lib in libraries where goMod.requirements[lib.importPath] != nil {
            guard lib.track, lib.lists(env.name, in: config) else {
                log.write(
                    "deps",
                    "library \(lib.name): go.mod requires \(lib.importPath) \(goMod.requirements[lib.importPath] ?? ""); "
                        + (lib.track ? "environment \(env.name) holds no checkout of it" : "track: false")
                        + ", so the version go.mod pins is used")
                continue
            }
            if goMod.replaced.contains(lib.importPath) {
                log.write("deps", "library \(lib.name): go.mod replaces \(lib.importPath) itself; its replace is kept")
                continue
            }
            if vendored {
                log.write("deps", "library \(lib.name): vendor/ holds \(lib.importPath); building from vendor/")
                continue
            }
            try await bringUpToDate(lib)
            let checkout = LibraryCheckout(library: lib, environment: env.layout)
            replaces += "\nreplace \(lib.importPath) => \(executor.path(checkout.path))\n"
            log.write("deps", "library \(lib.name): building against environment \(env.name)'s checkout (replace in this build's go.mod)")
            used.append(lib)
        }
        if !replaces.isEmpty {
            // A new file renamed over go.mod, never a write into it: the work dir's files may be
            // hard links to the project's clean tree, which every later build links again.
            guard let text = workDir.readRegularFile("go.mod") else {
                throw StepFailure(status: .failed, message: "deps: cannot read \(workDir.shownAs)/go.mod to add the library replace")
            }
            let path = workDir.path + "/go.mod"
            try AtomicFile.write(text + Data(replaces.utf8), to: path, mode: 0o644)
            if let owner = executor.stepUser { _ = lchown(path, owner.uid, owner.gid) }
        }
        return used
    }

    /// Brings `library`'s checkout in this environment to its branch head or pin (fetching the
    /// mirror first). When the repository cannot be reached and a checkout exists, the build
    /// goes on with it, saying so.
    private func bringUpToDate(_ library: LibraryConfig) async throws {
        let updater = LibraryUpdater(config: config, database: database)
        do {
            let changes = try await updater.update(library, environments: [env.name], deadline: deadline) { line in
                log.write("deps", line)
            }
            for change in changes where change.changed {
                log.write(
                    "deps",
                    "library \(library.name): placed \(change.to)"
                        + (change.from.map { " (was \($0.prefix(12)))" } ?? "")
                        + (change.pin.map { " pinned by \($0.source) to \($0.commit)" } ?? ""))
            }
        } catch let error as GobayError {
            if Task.isCancelled { throw StepFailure(status: .canceled, message: "deps: canceled") }
            guard LibraryCheckout(library: library, environment: env.layout).state() != nil, error.kind == .upstream else {
                throw StepFailure(status: .failed, message: "deps: \(error.message)")
            }
            log.write("deps", "warning: \(error.message); building with the checkout environment \(env.name) holds")
        }
    }

    /// Records the library commits this build compiles against, read from the checkouts while
    /// the build holds the GOPATH read lock (no update can swap them until it ends).
    func recordLibraries(_ used: [LibraryConfig]) throws {
        var commits: [String: String] = [:]
        for lib in used {
            guard let state = LibraryCheckout(library: lib, environment: env.layout).state() else { continue }
            commits[lib.name] = state.commit
            log.write("deps", "library \(lib.name) at \(state.commit) (placed \(Timestamp.string(state.updatedAt)))")
        }
        try database.setLibraries(id, commits)
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
    /// step can write; gobay copies them out into the artifact store. The same for every build
    /// of the project in this environment (builds of a project run one at a time), like a
    /// Jenkins workspace, so Go links again only when the program changed.
    var outDir: String { env.outRoot + "/" + plan.project.name }

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
    /// sha256 and size; the output stays for the next build. Identical binaries are stored
    /// once. A build whose output is not a regular file fails.
    func artifacts(_ built: [Built]) async throws {
        try await step("artifacts") {
            let (dir, envDir, log, project) = (dir, env.dir, log, plan.project.name)
            let (objects, stamps) = (config.data.objects, config.data.outputStamps)
            // Copying and hashing binaries of many megabytes: off the cooperative pool.
            let records = try await BlockingThread.run("gobay-artifacts-\(id)") {
                let store = ArtifactStore(directory: dir.artifacts, objects: objects, stamps: stamps)
                return try built.map { b -> ArtifactRecord in
                    let stored = try store.store("out/\(project)/\(b.name)", below: envDir, as: b.name, keepOutput: true)
                    log.write(
                        "artifacts",
                        "\(b.name) \(stored.size) bytes sha256 \(stored.sha256)"
                            + (stored.deduplicated ? " (the same as an earlier build's: stored once)" : ""))
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

    /// One package of the build's dependency graph, and whether go could not find it.
    struct Import {
        var path: String
        var missing: Bool
    }

    /// The packages the project imports, directly or not (`go list -e -deps`), but its own.
    private func listImports(_ workDir: String) async throws -> [Import] {
        var lines: [String] = []
        let outcome = try await executor.run(
            StepCommand(
                ["go", "list", "-e", "-deps"] + tagsFlag + ["-f", "{{.ImportPath}}{{if .Error}} missing{{end}}", "./..."],
                workingDirectory: workDir, environment: goEnv, writable: [workDir]), deadline: deadline
        ) { lines.append($0) }
        guard outcome.succeeded else {
            throw StepFailure(status: .failed, message: "deps: go list failed: \(lines.suffix(5).joined(separator: "; "))")
        }
        let own = plan.project.importPath ?? ""
        return lines.compactMap { line in
            let words = line.split(separator: " ")
            guard let first = words.first, words.count <= 2 else { return nil }
            let path = String(first)
            guard path != own, !path.hasPrefix(own + "/"), !path.hasPrefix("."), path.contains(".") || words.count == 2
            else { return nil }
            return Import(path: path, missing: words.count == 2 && words[1] == "missing")
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

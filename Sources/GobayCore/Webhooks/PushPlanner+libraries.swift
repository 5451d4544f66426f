import Foundation

extension PushPlanner {
    /// The libraries whose repository and branch a push event is for (their `repo:` is any of
    /// its URLs; the branch is their `branch:`, else the repository's default branch).
    public func libraries(for event: WebhookEvent) -> [LibraryConfig] {
        guard case .push(let push) = event, !push.isTag, !push.deleted, GitRef.isCommitID(push.after), push.after.count == 40
        else { return [] }
        return repositories.libraries(matching: push.repositoryURLs, in: config).filter { lib in
            if let branch = lib.branch { return branch == push.name }
            if let head = GitMirror(url: lib.repo, dataDir: config.dataDir).headFileBranch() { return head == push.name }
            return push.name == "main" || push.name == "master"
        }
    }

    /// One build of each dependent of `libraries` (those with `rebuild: dependents`), known from
    /// its last successful build (`uses`), at its branch, trigger `library`, coalesced: while
    /// one waits, a newer library push replaces it, and it builds against the newest commit.
    public func libraryRebuilds(
        _ libraries: [LibraryConfig], push: PushEvent, uses: [AppDatabase.LibraryUse], now: Date = Date()
    ) -> [AppDatabase.Enqueue] {
        let notBefore = now.addingTimeInterval(config.server.quietPeriod)
        var builds: [AppDatabase.Enqueue] = []
        var seen = Set<String>()
        for lib in libraries where lib.rebuild == .dependents {
            for use in uses where use.libraries[lib.name] != nil && seen.insert(use.project).inserted {
                guard let project = config.projects.first(where: { $0.name == use.project }) else { continue }
                let ref = project.branch ?? GitMirror(url: project.repo, dataDir: config.dataDir).headFileBranch() ?? use.ref
                builds.append(
                    AppDatabase.Enqueue(
                        project: project.name, ref: ref, commit: nil, environment: nil, trigger: .library,
                        coalesce: true, notBefore: notBefore, cause: LibraryCause(library: lib.name, commit: push.after)))
            }
        }
        return builds
    }
}

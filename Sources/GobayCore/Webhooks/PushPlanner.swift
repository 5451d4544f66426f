import Foundation

/// Turns a verified webhook event into the builds to queue: which projects build this repository,
/// which of them want this branch or tag, or why nothing is queued.
public struct PushPlanner: Sendable {
    let config: GobayConfig
    /// The config's repository URLs, normalised once.
    let repositories: RepositoryIndex

    /// A planner for the projects of `config`; `repositories` is its index, made when the config
    /// was loaded (made here when not given).
    public init(config: GobayConfig, repositories: RepositoryIndex? = nil) {
        self.config = config
        self.repositories = repositories ?? RepositoryIndex(config: config)
    }

    /// What a delivery asks for: the builds to queue, or the reason there are none.
    public struct Plan: Sendable {
        /// The builds to queue, one per project.
        public var builds: [AppDatabase.Enqueue]
        /// Why nothing is queued, when nothing is.
        public var reason: String?
    }

    /// The projects whose `repo:` is the repository `event` comes from (any of its URLs).
    public func candidates(for event: WebhookEvent) -> [ProjectConfig] {
        guard case .push(let push) = event else { return [] }
        return repositories.projects(matching: push.repositoryURLs, in: config)
    }

    /// The builds `event` asks of `projects` (those it is trusted for), waiting until `now` plus
    /// the quiet period.
    public func plan(for event: WebhookEvent, projects: [ProjectConfig], now: Date = Date()) -> Plan {
        guard case .push(let push) = event else {
            if case .ignored(let reason) = event { return Plan(builds: [], reason: reason) }
            return Plan(builds: [], reason: "event not handled")
        }
        if push.deleted {
            return Plan(builds: [], reason: "\(push.isTag ? "tag" : "branch") \(push.name) was deleted; nothing to build")
        }
        if projects.isEmpty { return Plan(builds: [], reason: "no project builds this repository") }
        if let problem = GitRef.problem(push.name) {
            return Plan(builds: [], reason: "ref \(push.name.debugDescription) is not a valid git ref (\(problem)); nothing queued")
        }
        guard GitRef.isCommitID(push.after), push.after.count == 40 else {
            return Plan(builds: [], reason: "the push names no commit; nothing queued")
        }
        let notBefore = now.addingTimeInterval(config.server.quietPeriod)
        let builds = projects.filter { wants($0, push) }.map { project in
            AppDatabase.Enqueue(
                project: project.name, ref: push.name, commit: push.after, environment: nil, trigger: .webhook,
                coalesce: project.coalesce, notBefore: notBefore)
        }
        if builds.isEmpty {
            return Plan(
                builds: [],
                reason: push.isTag
                    ? "no project builds tag \(push.name) (set tags: true)"
                    : "no project builds branch \(push.name) (see branches:)")
        }
        return Plan(builds: builds, reason: nil)
    }

    /// Whether `project` builds this push: tags when `tags: true`; branches by `branches:` globs,
    /// else its `branch:`, else the repository's default branch (from the mirror's HEAD, read as a file).
    func wants(_ project: ProjectConfig, _ push: PushEvent) -> Bool {
        if push.isTag { return project.tags }
        if !project.branches.isEmpty {
            return project.branches.contains { RefGlob.matches(pattern: $0, name: push.name) }
        }
        if let branch = project.branch { return branch == push.name }
        let mirror = GitMirror(url: project.repo, dataDir: config.dataDir)
        if let head = mirror.headFileBranch() { return head == push.name }
        return push.name == "main" || push.name == "master"
    }
}

import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The states gobay reports on a commit.
public enum CommitState: String, Sendable {
    case pending, running, success, failed, canceled

    /// The state for a finished build.
    public init(_ status: BuildStatus) {
        switch status {
        case .succeeded: self = .success
        case .canceled, .superseded: self = .canceled
        case .queued: self = .pending
        case .running: self = .running
        case .failed, .timedOut, .interrupted: self = .failed
        }
    }
}

/// Posts build states to GitLab's or GitHub's commit status API, in the background and in order
/// per reporter. A failure is logged and retried a few times; it never fails a build. Tokens are
/// read from the environment when sending and never logged.
public final class CommitStatusReporter: @unchecked Sendable {
    /// What a status's `target_url` links to.
    public enum Target: Sendable {
        /// The build record, `/api/v1/builds/{id}` (JSON; needs a token unless `public_read`).
        case build
        /// The build's plain-text log, `/api/v1/builds/{id}/log`: readable in a browser, so the
        /// link to use when `public_read` is on.
        case plainLog
    }

    private let publicURL: String
    private let logTarget: Target
    private let environment: [String: String]
    private let log: @Sendable (String) -> Void
    private let queue = DispatchQueue(label: "gobay.commit-status")
    private let attempts: Int
    private let backoff: TimeInterval

    /// Creates a reporter; `publicURL` is the server's URL for target links, `logTarget` what they
    /// point at.
    public init(
        publicURL: String, logTarget: Target = .build, environment: [String: String] = ProcessInfo.processInfo.environment, attempts: Int = 4,
        backoff: TimeInterval = 0.5, log: @escaping @Sendable (String) -> Void
    ) {
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.logTarget = logTarget
        self.environment = environment
        self.attempts = attempts
        self.backoff = backoff
        self.log = log
    }

    /// Queues a report of `state` for `sha` of `project`, if the project reports statuses.
    public func report(project: ProjectConfig, sha: String, state: CommitState, buildID: Int64, description: String) {
        guard sha.count == 40, project.status.gitlab != nil || project.status.github != nil else { return }
        let target = "\(publicURL)/api/v1/builds/\(buildID)" + (logTarget == .plainLog ? "/log" : "")
        queue.async { [self] in
            if let gitlab = project.status.gitlab {
                // GitLab takes a numeric id or the URL-encoded path ("group%2Fproject").
                let unreserved = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
                let id = gitlab.projectID.addingPercentEncoding(withAllowedCharacters: unreserved) ?? gitlab.projectID
                let body: [String: String] = [
                    "state": state.rawValue, "target_url": target, "description": description, "name": "gobay",
                ]
                send(
                    "gitlab", url: "\(trimmed(gitlab.url))/api/v4/projects/\(id)/statuses/\(sha)", body: body,
                    tokenEnv: gitlab.tokenEnv, header: "PRIVATE-TOKEN", prefix: "", buildID: buildID, state: state)
            }
            if let github = project.status.github {
                let body: [String: String] = [
                    "state": Self.githubState(state), "target_url": target, "description": description,
                    "context": "gobay",
                ]
                send(
                    "github", url: "\(trimmed(github.url))/repos/\(github.repo)/statuses/\(sha)", body: body,
                    tokenEnv: github.tokenEnv, header: "Authorization", prefix: "Bearer ", buildID: buildID,
                    state: state)
            }
        }
    }

    /// Waits until every queued report has been sent or given up.
    public func drain() { queue.sync {} }

    static func githubState(_ state: CommitState) -> String {
        switch state {
        case .pending, .running: return "pending"
        case .success: return "success"
        case .failed: return "failure"
        case .canceled: return "error"
        }
    }

    private func trimmed(_ url: String) -> String { url.hasSuffix("/") ? String(url.dropLast()) : url }

    private func send(
        _ api: String, url: String, body: [String: String], tokenEnv: String, header: String, prefix: String,
        buildID: Int64, state: CommitState
    ) {
        guard let token = environment[tokenEnv], !token.isEmpty else {
            log("commit status: \(api) token variable \(tokenEnv) is not set; not reporting build #\(buildID)")
            return
        }
        guard let endpoint = URL(string: url), let data = try? JSONSerialization.data(withJSONObject: body) else {
            log("commit status: bad \(api) URL \(url)")
            return
        }
        var request = URLRequest(url: endpoint)
        request.httpMethod = "POST"
        request.httpBody = data
        request.timeoutInterval = 10
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(prefix + token, forHTTPHeaderField: header)
        for attempt in 1...attempts {
            let status = Self.post(request)
            if (200..<300).contains(status) { return }
            log("commit status: \(api) answered \(status == 0 ? "nothing" : "HTTP \(status)") for build #\(buildID) \(state.rawValue) (attempt \(attempt) of \(attempts))")
            if attempt < attempts { Thread.sleep(forTimeInterval: backoff * Double(attempt)) }
        }
    }

    private static func post(_ request: URLRequest) -> Int {
        let done = DispatchSemaphore(value: 0)
        let status = StatusBox()
        URLSession.shared.dataTask(with: request) { _, response, _ in
            status.value = (response as? HTTPURLResponse)?.statusCode ?? 0
            done.signal()
        }.resume()
        done.wait()
        return status.value
    }
}

private final class StatusBox: @unchecked Sendable {
    var value = 0
}

import AsyncHTTPClient
import Foundation
import NIOCore
import ServiceLifecycle

/// Posts build states to GitLab's or GitHub's commit status API, in order, as a `Service`:
/// `report` only queues, and `run()` sends. A failure is logged and retried with a growing
/// pause; it never fails a build. At a graceful shutdown the reports already queued are still
/// sent (so list this service before the ones that report, which then stop first). Tokens are
/// read from the environment when sending and never logged.
public final class CommitStatusReporter: Service, Sendable {
    /// What a status's `target_url` links to.
    public enum Target: Sendable {
        /// The build record, `/api/v1/builds/{id}` (JSON; needs a token unless `public_read`).
        case build
        /// The build's plain-text log, `/api/v1/builds/{id}/log`: readable in a browser, so the
        /// link to use when `public_read` is on.
        case plainLog
        /// The dashboard's page of the build, `/builds/{id}` (deployments: `/deployments`), which
        /// sends a reader without a session through the login page and back.
        case dashboard
    }

    private let publicURL: String
    private let logTarget: Target
    private let environment: [String: String]
    private let log: @Sendable (String) -> Void
    private let attempts: Int
    private let backoff: Duration
    private let queue: AsyncStream<CommitStatusPost>
    private let queueInput: AsyncStream<CommitStatusPost>.Continuation

    /// Creates a reporter; `publicURL` is the server's URL for target links, `logTarget` what they
    /// point at. A post that fails is tried `attempts` times in all, the nth pause being n × `backoff`.
    public init(
        publicURL: String, logTarget: Target = .build,
        environment: [String: String] = ProcessInfo.processInfo.environment, attempts: Int = 4,
        backoff: Duration = .milliseconds(500), log: @escaping @Sendable (String) -> Void
    ) {
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.logTarget = logTarget
        self.environment = environment
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.log = log
        (queue, queueInput) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Queues a report of `state` for `sha` of `project`, if the project reports statuses: of
    /// build `buildID` (context `gobay`), or of its deployment `deploymentID` (`gobay/deploy`).
    public func report(
        project: ProjectConfig, sha: String, state: CommitState, buildID: Int64, description: String,
        deploymentID: Int64? = nil
    ) {
        guard sha.count == 40 else { return }
        let target: String
        switch logTarget {
        case .dashboard: target = publicURL + (deploymentID == nil ? DashboardURL.build(buildID) : DashboardURL.deployments)
        case .build, .plainLog:
            let page = deploymentID.map { "deployments/\($0)" } ?? "builds/\(buildID)"
            target = "\(publicURL)/api/v1/\(page)" + (logTarget == .plainLog ? "/log" : "")
        }
        let posts = CommitStatusPost.posts(
            for: project.status, sha: sha, state: state, buildID: buildID, target: target, description: description,
            context: deploymentID == nil ? "gobay" : "gobay/deploy")
        for post in posts {
            if case .terminated = queueInput.yield(post) {
                log("commit status: the server is stopping; not reporting build #\(buildID) \(state.rawValue)")
            }
        }
    }

    /// Sends queued reports until a graceful shutdown, then sends those still queued and returns.
    /// Cancellation stops at once.
    public func run() async throws {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(10), read: .seconds(10)))
        configuration.connectionPool.retryConnectionEstablishment = false
        let (queue, queueInput) = (self.queue, self.queueInput)
        try await HTTPClient.withHTTPClient(configuration: configuration) { client in
            await withGracefulShutdownHandler {
                for await post in queue {
                    await self.send(post, client: client)
                }
            } onGracefulShutdown: {
                queueInput.finish()
            }
        }
    }

    /// Posts one report, retrying with a growing pause until it is accepted or the attempts run out.
    private func send(_ post: CommitStatusPost, client: HTTPClient) async {
        guard let token = environment[post.tokenVariable], !token.isEmpty else {
            let variable = post.tokenVariable
            log("commit status: \(post.api) token variable \(variable) is not set; not reporting build #\(post.buildID)")
            return
        }
        var request = HTTPClientRequest(url: post.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: post.tokenHeader, value: post.tokenPrefix + token)
        request.body = .bytes(ByteBuffer(bytes: post.body))
        for attempt in 1...attempts {
            let answer: String
            do {
                let response = try await client.execute(request, timeout: .seconds(10))
                // Read the (small) answer so the connection can be kept for the next report.
                _ = try? await response.body.collect(upTo: 1 << 20)
                if (200..<300).contains(response.status.code) { return }
                answer = "HTTP \(response.status.code)"
            } catch {
                answer = "nothing"
            }
            let what = "build #\(post.buildID) \(post.state.rawValue)"
            log("commit status: \(post.api) answered \(answer) for \(what) (attempt \(attempt) of \(attempts))")
            guard attempt < attempts else { return }
            do {
                try await Task.sleep(for: backoff * attempt)
            } catch {
                return
            }
        }
    }
}

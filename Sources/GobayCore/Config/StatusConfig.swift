import Foundation

/// Where a project's commit statuses are reported.
public struct StatusConfig: Sendable, Equatable {
    /// GitLab: `POST {url}/api/v4/projects/{project_id}/statuses/{sha}`.
    public struct GitLab: Sendable, Equatable {
        /// The GitLab base URL.
        public var url: String
        /// The numeric id or URL-encoded path of the project.
        public var projectID: String
        /// The environment variable holding the access token.
        public var tokenEnv: String
    }

    /// GitHub: `POST {url}/repos/{repo}/statuses/{sha}`.
    public struct GitHub: Sendable, Equatable {
        /// The API base URL (https://api.github.com or a GHE URL).
        public var url: String
        /// owner/name.
        public var repo: String
        /// The environment variable holding the access token.
        public var tokenEnv: String
    }

    /// GitLab reporting, if set.
    public var gitlab: GitLab?
    /// GitHub reporting, if set.
    public var github: GitHub?
}

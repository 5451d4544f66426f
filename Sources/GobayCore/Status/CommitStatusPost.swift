import Foundation

/// One commit status to post to one API: where, with which token, and the JSON body.
struct CommitStatusPost: Sendable {
    /// "gitlab" or "github", for log lines.
    var api: String
    /// The status endpoint for the commit.
    var url: String
    /// The environment variable holding the token (read when sending).
    var tokenVariable: String
    /// The header carrying the token.
    var tokenHeader: String
    /// What goes before the token in that header.
    var tokenPrefix: String
    /// The JSON body.
    var body: Data
    /// The build reported on, for log lines.
    var buildID: Int64
    /// The state reported, for log lines.
    var state: CommitState

    /// The posts `status` asks for: one per configured API.
    static func posts(
        for status: StatusConfig, sha: String, state: CommitState, buildID: Int64, target: String, description: String,
        context: String = "gobay"
    ) -> [CommitStatusPost] {
        var posts: [CommitStatusPost] = []
        if let gitlab = status.gitlab {
            // GitLab takes a numeric id or the URL-encoded path ("group%2Fproject").
            let unreserved = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
            let id = gitlab.projectID.addingPercentEncoding(withAllowedCharacters: unreserved) ?? gitlab.projectID
            let body = ["state": state.rawValue, "target_url": target, "description": description, "name": context]
            posts.append(
                CommitStatusPost(
                    api: "gitlab", url: "\(trimmed(gitlab.url))/api/v4/projects/\(id)/statuses/\(sha)",
                    tokenVariable: gitlab.tokenEnv, tokenHeader: "PRIVATE-TOKEN", tokenPrefix: "", body: json(body),
                    buildID: buildID, state: state))
        }
        if let github = status.github {
            let body = ["state": state.github, "target_url": target, "description": description, "context": context]
            posts.append(
                CommitStatusPost(
                    api: "github", url: "\(trimmed(github.url))/repos/\(github.repo)/statuses/\(sha)",
                    tokenVariable: github.tokenEnv, tokenHeader: "Authorization", tokenPrefix: "Bearer ",
                    body: json(body), buildID: buildID, state: state))
        }
        return posts
    }

    private static func trimmed(_ url: String) -> String { url.hasSuffix("/") ? String(url.dropLast()) : url }

    /// A flat string-to-string object always encodes; sorted keys keep the body stable.
    private static func json(_ object: [String: String]) -> Data {
        (try? JSONEncoder.sorted.encode(object)) ?? Data("{}".utf8)
    }
}

extension JSONEncoder {
    /// An encoder with sorted keys.
    fileprivate static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

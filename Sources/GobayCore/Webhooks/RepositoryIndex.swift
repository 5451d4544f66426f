import Foundation

/// Every project's and library's repository URL, normalised once when the config is loaded:
/// a delivery then normalises only its own few URLs and looks them up, whatever the number of
/// projects.
public struct RepositoryIndex: Sendable {
    /// Normalised URL → indexes into the config's projects, in config order.
    private let projects: [String: [Int]]
    /// Normalised URL → indexes into the config's libraries, in config order.
    private let libraries: [String: [Int]]

    /// Indexes the repositories of `config`.
    public init(config: GobayConfig) {
        var projects: [String: [Int]] = [:]
        for (index, project) in config.projects.enumerated() {
            let key = RepositoryURL.normalize(project.repo)
            if !key.isEmpty { projects[key, default: []].append(index) }
        }
        var libraries: [String: [Int]] = [:]
        for (index, library) in config.libraries.enumerated() {
            let key = RepositoryURL.normalize(library.repo)
            if !key.isEmpty { libraries[key, default: []].append(index) }
        }
        self.projects = projects
        self.libraries = libraries
    }

    /// The indexes found under any of `urls`, once each, ascending.
    private static func lookup(_ table: [String: [Int]], _ urls: [String]) -> [Int] {
        var found = Set<Int>()
        for url in urls {
            let key = RepositoryURL.normalize(url)
            if let hits = table[key] { found.formUnion(hits) }
        }
        return found.sorted()
    }

    /// The projects of `config` (the config indexed) whose repository is one of `urls`.
    public func projects(matching urls: [String], in config: GobayConfig) -> [ProjectConfig] {
        Self.lookup(projects, urls).filter { $0 < config.projects.count }.map { config.projects[$0] }
    }

    /// The libraries of `config` (the config indexed) whose repository is one of `urls`.
    public func libraries(matching urls: [String], in config: GobayConfig) -> [LibraryConfig] {
        Self.lookup(libraries, urls).filter { $0 < config.libraries.count }.map { config.libraries[$0] }
    }
}

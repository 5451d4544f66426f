import Foundation
import GRDB

extension AppDatabase {
    /// The newest build of each `(project, ref)` pair (ref nil: of the project, any ref), in
    /// the pairs' order, without steps or artifacts: one statement of index seeks
    /// (`build_project_ref`, `index_build_on_project`) however long the history, and one
    /// fetch of the rows found.
    public func newestBuilds(_ pairs: [(project: String, ref: String?)]) async throws -> [BuildRecord?] {
        try await writer.read { db in
            var ids: [Int64?] = []
            // 3 arguments a pair, well under SQLite's limit per statement.
            for start in stride(from: 0, to: pairs.count, by: 3_000) {
                let chunk = pairs[start..<min(start + 3_000, pairs.count)]
                let values = chunk.map { _ in "(?, ?, ?)" }.joined(separator: ", ")
                var arguments: [(any DatabaseValueConvertible)?] = []
                for (offset, pair) in chunk.enumerated() { arguments += [offset, pair.project, pair.ref] }
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        WITH wanted(i, project, ref) AS (VALUES \(values))
                        SELECT w.i, CASE WHEN w.ref IS NULL
                            THEN (SELECT b.id FROM build b WHERE b.project = w.project ORDER BY b.id DESC LIMIT 1)
                            ELSE (SELECT b.id FROM build b WHERE b.project = w.project AND b.ref = w.ref ORDER BY b.id DESC LIMIT 1)
                            END
                        FROM wanted w ORDER BY w.i
                        """,
                    arguments: StatementArguments(arguments))
                ids += rows.map { $0[1] as Int64? }
            }
            let found = try StoredBuild.filter(keys: ids.compactMap { $0 }).fetchAll(db)
            var byID: [Int64: BuildRecord] = [:]
            for build in found { if let id = build.id { byID[id] = build.record(steps: [], artifacts: []) } }
            return ids.map { $0.flatMap { byID[$0] } }
        }
    }

    /// Where each target of each project stands by the history: the release it runs (the newest
    /// target row that ended succeeded, its new release; or rolled back, its previous one) and
    /// the release before that (what a rollback goes back to), newest deployments first.
    public func deployedReleases() async throws -> [DeployedRelease] {
        try await writer.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT d.project, t.target, t.status, t.new_release, t.previous_release FROM deployment_target t
                    JOIN deployment d ON d.id = t.deployment_id
                    WHERE t.status IN ('succeeded', 'rolled_back')
                    ORDER BY t.deployment_id DESC
                    """)
            var seen: Set<String> = []
            var releases: [DeployedRelease] = []
            for row in rows {
                let project: String = row[0]
                let target: String = row[1]
                guard seen.insert(project + "\u{0}" + target).inserted else { continue }
                let succeeded = (row[2] as String) == DeployStatus.succeeded.rawValue
                let release: Int64? = succeeded ? row[3] : row[4]
                releases.append(
                    DeployedRelease(project: project, target: target, release: release, previous: succeeded ? row[4] : nil))
            }
            return releases
        }
    }
}

/// The release a deploy target runs now.
public struct DeployedRelease: Sendable, Equatable {
    /// The project.
    public var project: String
    /// The target's name.
    public var target: String
    /// The build it runs.
    public var release: Int64?
    /// The build it ran before, when the last deployment there succeeded.
    public var previous: Int64?
}

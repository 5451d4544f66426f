import Foundation
import GobayCore

/// Finds builds by id for the commands that take one.
enum BuildLookup {
    static func find(_ id: Int64, config: GobayConfig) throws -> BuildRecord {
        let database = try AppDatabase(dataDir: config.dataDir)
        guard let record = try database.build(id) else {
            throw GobayError("no build #\(id)", hint: "`gobay builds` lists the builds")
        }
        return record
    }
}

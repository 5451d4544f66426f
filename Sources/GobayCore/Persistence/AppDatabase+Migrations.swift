import GRDB

/// The schema, one migration per change; each runs in its own transaction.
extension AppDatabase {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-builds") { db in
            try db.create(table: "build") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("project", .text).notNull().indexed()
                t.column("environment", .text).notNull()
                t.column("go_version", .text).notNull()
                t.column("commit_sha", .text).notNull()
                t.column("ref", .text).notNull()
                t.column("status", .text).notNull().indexed()
                t.column("created_at", .text).notNull()
                t.column("started_at", .text)
                t.column("finished_at", .text)
                t.column("error", .text)
                t.column("owner", .text)
            }
            try db.create(table: "step") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("build_id", .integer).notNull().indexed().references("build", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("status", .text).notNull()
                t.column("started_at", .text).notNull()
                t.column("finished_at", .text)
            }
            try db.create(table: "artifact") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("build_id", .integer).notNull().indexed().references("build", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("path", .text).notNull()
                t.column("sha256", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("goos", .text).notNull()
                t.column("goarch", .text).notNull()
            }
        }
        migrator.registerMigration("v2-queue") { db in
            try db.alter(table: "build") { t in
                t.add(column: "trigger", .text).notNull().defaults(to: "cli")
                t.add(column: "retry_of", .integer)
                t.add(column: "retried", .boolean).notNull().defaults(to: false)
                t.add(column: "requested_env", .text)
                t.add(column: "not_before", .text)
            }
            try db.create(index: "build_queue", on: "build", columns: ["status", "project", "ref"])
            try db.create(table: "delivery") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("sender", .text).notNull()
                t.column("delivery_id", .text).notNull()
                t.column("status", .integer).notNull()
                t.column("body", .text).notNull()
                t.column("created_at", .text).notNull()
                t.uniqueKey(["sender", "delivery_id"])
            }
        }
        migrator.registerMigration("v3-claimable-index") { db in
            // The scheduler asks for waiting builds whose quiet period is over many times a second.
            try db.create(index: "build_claimable", on: "build", columns: ["status", "not_before"])
        }
        migrator.registerMigration("v4-test-summary") { db in
            try db.alter(table: "build") { t in t.add(column: "test_summary", .text) }
        }
        migrator.registerMigration("v5-records") { db in
            // Times were RFC 3339 text ("2026-11-26T23:00:10.123Z"); GRDB stores a `Date` as
            // "2026-11-26 23:00:10.123" (UTC). One format in every row keeps SQL comparisons
            // (`not_before <= ?`) and ordering right.
            try db.execute(
                sql: """
                    UPDATE step SET \(converted("started_at")), \(converted("finished_at"));
                    UPDATE delivery SET \(converted("created_at"));
                    """)
            // environment and go_version become NULL until a build is planned (they were ''):
            // the build table is made again without their NOT NULL.
            try db.create(table: "new_build") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("project", .text).notNull()
                t.column("environment", .text)
                t.column("go_version", .text)
                t.column("commit_sha", .text).notNull()
                t.column("ref", .text).notNull()
                t.column("status", .text).notNull()
                t.column("created_at", .datetime).notNull()
                t.column("started_at", .datetime)
                t.column("finished_at", .datetime)
                t.column("error", .text)
                t.column("owner", .text)
                t.column("trigger", .text).notNull().defaults(to: Trigger.cli)
                t.column("retry_of", .integer)
                t.column("retried", .boolean).notNull().defaults(to: false)
                t.column("requested_env", .text)
                t.column("not_before", .datetime)
                t.column("test_summary", .jsonText)
            }
            try db.execute(
                sql: """
                    INSERT INTO new_build (id, project, environment, go_version, commit_sha, ref, status, created_at,
                      started_at, finished_at, error, owner, trigger, retry_of, retried, requested_env, not_before,
                      test_summary)
                    SELECT id, project, NULLIF(environment, ''), NULLIF(go_version, ''), commit_sha, ref, status,
                      \(converted("created_at", assign: false)), \(converted("started_at", assign: false)),
                      \(converted("finished_at", assign: false)), error, owner, trigger, retry_of, retried,
                      requested_env, \(converted("not_before", assign: false)), test_summary
                    FROM build
                    """)
            try db.drop(table: "build")
            try db.rename(table: "new_build", to: "build")
            try db.create(index: "index_build_on_project", on: "build", columns: ["project"])
            try db.create(index: "index_build_on_status", on: "build", columns: ["status"])
            try db.create(index: "build_queue", on: "build", columns: ["status", "project", "ref"])
            try db.create(index: "build_claimable", on: "build", columns: ["status", "not_before"])
        }
        migrator.registerMigration("v6-libraries") { db in
            try db.alter(table: "build") { t in
                t.add(column: "libraries", .jsonText)
                t.add(column: "cause_library", .text)
                t.add(column: "cause_commit", .text)
            }
            // A library push looks up each project's newest successful build that recorded its
            // libraries: this partial index answers it without reading the history.
            try db.execute(
                sql: """
                    CREATE INDEX build_library_use ON build (project, id)
                    WHERE status = 'succeeded' AND libraries IS NOT NULL
                    """)
            // Pins set with `gobay lib pin`: one per library and environment.
            try db.create(table: "library_pin") { t in
                t.column("library", .text).notNull()
                t.column("environment", .text).notNull()
                t.column("commit_sha", .text).notNull()
                t.column("set_at", .datetime).notNull()
                t.primaryKey(["library", "environment"])
            }
        }
        migrator.registerMigration("v7-deployments") { db in
            try db.create(table: "deployment") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("project", .text).notNull()
                t.column("build_id", .integer).notNull()
                t.column("strategy", .text).notNull()
                t.column("status", .text).notNull()
                t.column("trigger", .text).notNull()
                t.column("created_at", .datetime).notNull()
                t.column("started_at", .datetime)
                t.column("finished_at", .datetime)
                t.column("error", .text)
                t.column("owner", .text)
            }
            try db.create(index: "deployment_on_project", on: "deployment", columns: ["project", "id"])
            try db.create(index: "deployment_on_status", on: "deployment", columns: ["status"])
            try db.create(table: "deployment_target") { t in
                t.column("deployment_id", .integer).notNull().references("deployment", onDelete: .cascade)
                t.column("target", .text).notNull()
                t.column("status", .text).notNull()
                t.column("previous_release", .integer)
                t.column("new_release", .integer).notNull()
                t.column("started_at", .datetime)
                t.column("finished_at", .datetime)
                t.column("error", .text)
                t.primaryKey(["deployment_id", "target"])
            }
            try db.create(index: "deployment_target_releases", on: "deployment_target", columns: ["new_release"])
        }
        migrator.registerMigration("v8-delivery-trust") { db in
            // Whose secret verified a delivery ("" the global one, "project:<name>",
            // "library:<name>"), so a redelivery is checked against that secret alone, before any
            // matching.
            try db.alter(table: "delivery") { t in t.add(column: "trusted_by", .text) }
        }
        migrator.registerMigration("v9-not-before-always") { db in
            // Every waiting build gets a not_before (its creation when none was set), so the
            // scheduler's look at the queue is one range of the build_claimable index.
            try db.execute(sql: "UPDATE build SET not_before = created_at WHERE not_before IS NULL AND status = 'queued'")
        }
        migrator.registerMigration("v10-build-counts") { db in
            // /metrics reads builds by status and environment from this summary, kept by triggers
            // in the same transaction as every change, never by scanning the history.
            try db.execute(
                sql: """
                    CREATE TABLE build_count (
                        status TEXT NOT NULL, environment TEXT NOT NULL, n INTEGER NOT NULL,
                        PRIMARY KEY (status, environment)) WITHOUT ROWID;
                    INSERT INTO build_count (status, environment, n)
                        SELECT status, COALESCE(environment, ''), COUNT(*) FROM build GROUP BY 1, 2;
                    CREATE TRIGGER build_count_insert AFTER INSERT ON build BEGIN
                        INSERT INTO build_count (status, environment, n)
                        VALUES (NEW.status, COALESCE(NEW.environment, ''), 1)
                        ON CONFLICT (status, environment) DO UPDATE SET n = n + 1;
                    END;
                    CREATE TRIGGER build_count_delete AFTER DELETE ON build BEGIN
                        UPDATE build_count SET n = n - 1
                        WHERE status = OLD.status AND environment = COALESCE(OLD.environment, '');
                    END;
                    CREATE TRIGGER build_count_update AFTER UPDATE OF status, environment ON build
                    WHEN OLD.status IS NOT NEW.status OR OLD.environment IS NOT NEW.environment BEGIN
                        UPDATE build_count SET n = n - 1
                        WHERE status = OLD.status AND environment = COALESCE(OLD.environment, '');
                        INSERT INTO build_count (status, environment, n)
                        VALUES (NEW.status, COALESCE(NEW.environment, ''), 1)
                        ON CONFLICT (status, environment) DO UPDATE SET n = n + 1;
                    END;
                    """)
        }
        migrator.registerMigration("v11-dashboard-indexes") { db in
            // The dashboard's newest build of each project and branch: one index seek per pair.
            try db.create(index: "build_project_ref", on: "build", columns: ["project", "ref", "id"])
            // `activeCounts` (/environments, the overview) reads the queued and running builds
            // from this index alone, however many wait.
            try db.create(index: "build_active", on: "build", columns: ["status", "environment", "requested_env", "project"])
        }
        return migrator
    }

    /// SQL that turns an RFC 3339 time in `column` into GRDB's format, leaving anything else as is.
    private static func converted(_ column: String, assign: Bool = true) -> String {
        let value = """
            CASE WHEN \(column) GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'
            THEN substr(\(column), 1, 10) || ' ' || substr(\(column), 12, 12) ELSE \(column) END
            """
        return assign ? "\(column) = \(value)" : value
    }
}

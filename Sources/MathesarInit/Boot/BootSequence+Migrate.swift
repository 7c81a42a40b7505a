/// What `MATHESAR_MIGRATE` decides from, gathered during boot.
final class MigrationFacts {
    /// The app's fingerprint (MATHESAR_APP_FINGERPRINT_PATHS), read in preflight; nil when unknown.
    var appFingerprint: String?
    /// The internal database's after `prepare`'s seal (at boot it comes with `RunningDatabase`).
    var databaseFingerprint: String?
    /// Whether the migrate command ran at this boot.
    var migrateRan = false
    private var loaded: MigrationRecord?

    func record(_ config: Configuration) -> MigrationRecord {
        if let loaded { return loaded }
        let record = MigrationRecord(dataDirectory: config.dataDirectory)
        loaded = record
        return record
    }
}

/// `MATHESAR_MIGRATE=changed|always|never`: the migrate command runs unless
/// neither the app nor the internal database changed since its last
/// success, and the Mathesar SQL upgrade runs only when the app changed
/// since it last finished (or the migrate command ran at this boot).
extension BootSequence {
    private var skipAllowed: Bool { config.migrateMode == .changed && goal != .prepare }

    /// Reads the app's fingerprint; the readiness helper is asked for the
    /// database's only when a skip could use it (it costs a connection).
    func migrationStateRequest() -> [String: String] {
        migration.appFingerprint = MigrationFingerprint.app(paths: config.appFingerprintPaths, migrateCommand: config.migrateCommand)
        guard skipAllowed, migration.appFingerprint != nil, config.migrateCommand != nil || config.sqlUpgradeCommand != nil else { return [:] }
        return [DatabaseHelper.Variable.migrationState: "1"]
    }

    func migrateIfNeeded(_ command: [String], app process: AppProcess, helper: DatabaseHelper, database running: RunningDatabase) throws(Interruption) -> String {
        if config.migrateMode == .never && goal == .run {
            return "skipped (MATHESAR_MIGRATE=never: run the migrations elsewhere, e.g. mathesar-init migrate)"
        }
        let record = migration.record(config)
        let app = migration.appFingerprint, database = running.migrationState
        let reason: String
        switch (app, database) {
        case _ where goal == .prepare: reason = "making the template"
        case _ where config.migrateMode != .changed: reason = "MATHESAR_MIGRATE=\(config.migrateMode.rawValue)"
        case (nil, _): reason = "the app's fingerprint is unknown: MATHESAR_APP_FINGERPRINT_PATHS is not set"
        case _ where !record.hasMigrateRecord: reason = "no record of a successful run (a first boot, or the last run failed or was interrupted)"
        case (let app?, _) where record.app != app: reason = "the app changed (fingerprint \(record.app ?? "-") -> \(app))"
        case (_, nil): reason = "the internal database's migrations could not be read"
        case (_, let database?) where record.database != database:
            reason = "the internal database changed since the last success (migration state \(record.database ?? "-") -> \(database): restored, or migrated by something else)"
        case (let app?, let database?):
            return "skipped: neither the app (fingerprint \(app)) nor the internal database (migration state \(database)) changed since its last success (MATHESAR_MIGRATE=changed)"
        }
        do {
            try record.forgetMigrate()
        } catch {
            throw .failure(error)
        }
        migration.migrateRan = true
        let summary = try runMigrateCommand(command, app: process)
        if let app, goal != .prepare {
            let state = try supervisor.runTask(helper.spec(.migrationState))
            if state.status.succeeded, let after = DatabaseHelper.migrationFingerprint(in: state.lines) {
                do {
                    try record.recordMigrate(app: app, database: after)
                } catch {
                    logger.warning("\(error.message); the next boot runs the migrate command again")
                }
            } else {
                logger.warning("the internal database's migrations could not be read after the migrate command; the next boot runs it again")
            }
        }
        return "\(summary) (\(reason))"
    }

    /// Why the Mathesar SQL upgrade does not run at this boot, or nil.
    func sqlUpgradeSkipReason() -> String? {
        if config.migrateMode == .never && goal == .run { return "skipped (MATHESAR_MIGRATE=never)" }
        guard skipAllowed, !migration.migrateRan, let app = migration.appFingerprint,
              migration.record(config).sqlApp == app else { return nil }
        return "skipped: the app (fingerprint \(app)) has not changed since the Mathesar SQL of the user databases was last upgraded (MATHESAR_MIGRATE=changed)"
    }

    /// After a run in which every database succeeded: remembered, so that the
    /// next boot of the same app skips it. Any other end leaves it to run again.
    func recordSQLUpgrade(_ status: ExitStatus, failed: Int) {
        guard status.succeeded, failed == 0, let app = migration.appFingerprint else { return }
        do {
            try migration.record(config).recordSQLUpgrade(app: app)
        } catch {
            logger.warning("\(error.message); the next boot runs the Mathesar SQL upgrade again")
        }
    }

    /// `prepare`, after the migrate command: the role loses the one-time
    /// password, and the database's fingerprint goes into the manifest.
    func sealTemplate(_ helper: DatabaseHelper) throws(Interruption) -> String {
        let result = try supervisor.runTask(helper.spec(.sealTemplate))
        try requireHelperSuccess(result, helper: helper, step: "sealing the template")
        migration.databaseFingerprint = DatabaseHelper.migrationFingerprint(in: result.lines)
        return "role \(config.database.user) sealed; stopping the server"
    }
}

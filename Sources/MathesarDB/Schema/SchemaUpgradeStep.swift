import MathesarInit
import PostgresClient

/// `__schema-upgrade`, step 4 of boot: upgrades every database that has the
/// Mathesar schema installed (the ledger table), and each database of
/// `MATHESAR_SCHEMA_DATABASES`:
/// - bundled server: every connectable, non-template database that has the ledger;
/// - external server: the internal database (`POSTGRES_DB`) if it has the ledger
///   (other databases there are not ours to scan);
/// - `MATHESAR_SCHEMA_DATABASES` entries are installed when they have no ledger
///   yet: naming a database there is the operator's request to have the schema
///   in it, and in a container (or a Kubernetes Job) there is no moment to run
///   `schema install` by hand before the app needs it.
/// Each database is done on its own; a failure in one does not stop the others,
/// and ends the step with 76 (69 when a listed database cannot be reached).
struct SchemaUpgradeStep {
    let server: InternalServer
    let logger: Logger

    func run() -> Int32 {
        let bundle: SchemaBundle
        switch SchemaCommand.loadBundle(server.config) {
        case .success(let loaded): bundle = loaded
        case .failure(let failure):
            SchemaCommand.logFailure(failure, logger)
            return failure.code
        }
        let migrator = SchemaMigrator(bundle: bundle, logger: logger)
        let listed = server.config.schemaDatabases
        var failures: [Failure] = []
        var done = 0

        func upgrade(_ db: SchemaDatabase, _ policy: SchemaMigrator.LedgerPolicy) {
            switch migrator.migrate(db, ledger: policy) {
            case .success(let outcome):
                logger.info(outcome.summary(db.label))
                done += 1
            case .failure(let failure):
                SchemaCommand.logFailure(failure, logger)
                failures.append(failure)
            }
        }

        if let failure = forEachInstalledDatabase(excluding: Set(listed), { upgrade($0, .requireExisting) }) {
            SchemaCommand.logFailure(failure, logger)
            failures.append(failure)
        }
        for entry in listed {
            switch SchemaDatabase.open(entry: entry, server: server, logger: logger) {
            case .success(let db): upgrade(db, .createIfMissing)
            case .failure(let failure):
                SchemaCommand.logFailure(failure, logger, suffix: " (listed in MATHESAR_SCHEMA_DATABASES)")
                failures.append(failure)
            }
        }
        if failures.isEmpty && done == 0 {
            logger.info("schema: no database has the Mathesar schema installed; nothing to upgrade (install it with mathesar-init schema install --database NAME, or list databases in MATHESAR_SCHEMA_DATABASES)")
        }
        if failures.isEmpty { return 0 }
        return failures.contains { $0.code == ExitCode.migrationFailed } ? ExitCode.migrationFailed : failures[0].code
    }

    /// Calls `body` with each database of the internal server that has the
    /// ledger, one connection at a time.
    func forEachInstalledDatabase(excluding listed: Set<String>, _ body: (SchemaDatabase) -> Void) -> Failure? {
        var names: [String]
        switch server.mode {
        case .external:
            names = [server.config.database.name]
        case .bundled:
            do {
                let connection = try PostgresConnection.connect(server.adminParameters())
                names = try connection.query("""
                    SELECT datname FROM pg_catalog.pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname
                    """).compactMap { $0.first ?? nil }
            } catch {
                return Failure(ExitCode.databaseUnavailable, "schema: cannot list the databases of \(server.location): \(error)")
            }
        }
        for name in names where !listed.contains(name) {
            let db: SchemaDatabase
            switch SchemaDatabase.open(entry: name, server: server, logger: logger) {
            case .success(let opened): db = opened
            case .failure(let failure):
                // Not connectable now (dropped meanwhile, CONNECTION LIMIT reached): not ours to fail on.
                logger.warning(failure.message + "; skipped")
                continue
            }
            do {
                guard try SchemaLedger.exists(db.connection) else { continue }
            } catch {
                logger.warning("schema: database \(name): cannot look for \(SchemaLedger.qualifiedName): \(error); skipped")
                continue
            }
            body(db)
        }
        return nil
    }
}

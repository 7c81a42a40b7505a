import Glibc
import MathesarInit
import PostgresClient

/// `mathesar-init schema install|upgrade|uninstall|status --database NAME|URL`,
/// run by a user (usually `docker exec`). Exit codes: 0 done, 76 the schema
/// could not be applied or removed, 69 the database cannot be reached or
/// used, 78 the configuration (MATHESAR_SCHEMA_DIR) is invalid.
struct SchemaCommand {
    let action: Command.SchemaAction
    let database: String
    let bundle: SchemaBundle
    let server: InternalServer
    let logger: Logger

    static func run(_ action: Command.SchemaAction, database: String, environment: [String: String]) -> Int32 {
        var logger = Logger(format: .text, relayed: true)
        let config: Configuration
        switch ConfigurationLoader.load(environment: environment, isRoot: geteuid() == 0) {
        case .success(let loaded): config = loaded
        case .failure(let error):
            logger.error(error.description)
            return ExitCode.configuration
        }
        // Bare lines for a person at a terminal; JSON when the container logs JSON.
        if config.logFormat == .json { logger = Logger(format: .json) }
        if let password = config.database.password?.givenValue { logger.redact(password) }
        switch loadBundle(config) {
        case .success(let bundle):
            let command = SchemaCommand(action: action, database: database, bundle: bundle,
                                        server: InternalServer(config: config, environment: environment), logger: logger)
            return command.run()
        case .failure(let failure):
            logFailure(failure, logger)
            return failure.code
        }
    }

    /// One error line per line of the message (several problems are reported at once).
    static func logFailure(_ failure: Failure, _ logger: Logger, suffix: String = "") {
        for line in failure.message.split(separator: "\n") { logger.error(line + suffix) }
    }

    /// The bundle `MATHESAR_SCHEMA_DIR` names (the configuration has already validated it once).
    static func loadBundle(_ config: Configuration) -> Result<SchemaBundle, Failure> {
        guard let directory = config.schemaDirectory else {
            return .failure(Failure(ExitCode.configuration, "MATHESAR_SCHEMA_DIR is not set: it must name the directory of the Mathesar SQL schema bundle (NNNN_name.sql files), e.g. MATHESAR_SCHEMA_DIR=/usr/share/mathesar/schema"))
        }
        return SchemaBundle.load(directory: directory).mapError { problem in
            Failure(ExitCode.configuration, "MATHESAR_SCHEMA_DIR=\"\(directory)\": \(problem)")
        }
    }

    func run() -> Int32 {
        let db: SchemaDatabase
        switch SchemaDatabase.open(entry: database, server: server, logger: logger) {
        case .success(let opened): db = opened
        case .failure(let failure):
            Self.logFailure(failure, logger)
            return failure.code
        }
        let result: Result<Void, Failure>
        switch action {
        case .install, .upgrade:
            let migrator = SchemaMigrator(bundle: bundle, logger: logger)
            result = migrator.migrate(db, ledger: action == .install ? .createIfMissing : .requireExisting).map { outcome in
                logger.info(outcome.summary(db.label))
            }
        case .status:
            result = status(db)
        case .uninstall:
            result = uninstall(db)
        }
        switch result {
        case .success: return 0
        case .failure(let failure):
            Self.logFailure(failure, logger)
            return failure.code
        }
    }

    /// Installed and available versions and the pending files, on stdout.
    func status(_ db: SchemaDatabase) -> Result<Void, Failure> {
        let installed: Bool
        let entries: [SchemaLedger.Entry]
        do {
            installed = try SchemaLedger.exists(db.connection)
            entries = installed ? try SchemaLedger.read(db.connection) : []
        } catch {
            return .failure(SchemaMigrator.bookkeepingFailure(db, "reading the ledger \(SchemaLedger.qualifiedName)", error))
        }
        let plan = SchemaPlan(bundle: bundle, ledger: entries)
        var lines = ["database:  \(db.label)"]
        if !installed {
            lines.append("installed: no (no \(SchemaLedger.qualifiedName) table; schema install applies all files)")
        } else if let last = entries.last {
            lines.append("installed: version \(last.version) (\(last.name)), applied \(last.appliedAt)")
        } else {
            lines.append("installed: version 0 (the ledger \(SchemaLedger.qualifiedName) is empty)")
        }
        let available = bundle.files.last.map { "version \($0.version) (\($0.name))" } ?? "version 0 (no files)"
        lines.append("available: \(available) in \(bundle.directory)")
        if plan.pending.isEmpty {
            lines.append("pending:   none")
        } else {
            lines.append("pending:   \(plan.pending.count) file\(plan.pending.count == 1 ? "" : "s")")
            for file in plan.pending {
                lines.append("  \(file.fileName)\(file.transactional ? "" : " (no transaction)")")
            }
        }
        for entry in plan.unknown {
            lines.append("newer:     version \(entry.version) (\(entry.name)) is applied but not in this bundle")
        }
        FileIO.writeAll(1, Array((lines.joined(separator: "\n") + "\n").utf8))
        if !plan.problems.isEmpty {
            let reasons = plan.problems.map { plan.describe($0, database: db.label) }
            return .failure(Failure(ExitCode.migrationFailed, "schema: " + reasons.joined(separator: "\nschema: ") + "\nschema: upgrades of \(db.label) are refused until this is resolved"))
        }
        return .success(())
    }

    /// uninstall.sql and dropping the ledger, in one transaction, under the schema lock.
    func uninstall(_ db: SchemaDatabase) -> Result<Void, Failure> {
        guard let sql = bundle.uninstallSQL else {
            return .failure(Failure(ExitCode.configuration, "MATHESAR_SCHEMA_DIR=\"\(bundle.directory)\" has no uninstall.sql; nothing was removed from \(db.label)"))
        }
        let connection = db.connection
        let start = Instant.now()
        let lock: SchemaLock
        do {
            lock = try SchemaLock.acquire(connection) { logger.info("schema: \(db.label) \($0)") }
        } catch {
            return .failure(SchemaMigrator.bookkeepingFailure(db, "taking the schema lock", error))
        }
        defer { lock.release() }
        let version: Int
        do {
            guard try SchemaLedger.exists(connection) else {
                logger.info("schema: \(db.label) does not have the Mathesar schema installed (no \(SchemaLedger.qualifiedName) table); nothing to uninstall")
                return .success(())
            }
            version = try SchemaLedger.read(connection).last?.version ?? 0
            try connection.execute("BEGIN")
        } catch {
            return .failure(SchemaMigrator.bookkeepingFailure(db, "reading the ledger \(SchemaLedger.qualifiedName)", error))
        }
        let unchanged = "it was rolled back: nothing was removed and the schema stays at version \(version)"
        db.currentFile = "uninstall.sql"
        do {
            try connection.execute(sql)
        } catch {
            db.currentFile = nil
            _ = try? connection.execute("ROLLBACK")
            return .failure(SchemaMigrator.fileFailure(db, "uninstall.sql", error, location: SchemaMigrator.location(of: error, in: sql), note: unchanged))
        }
        db.currentFile = nil
        do {
            try connection.execute(SchemaLedger.dropSQL)
            try connection.execute("COMMIT")
        } catch {
            _ = try? connection.execute("ROLLBACK")
            return .failure(SchemaMigrator.bookkeepingFailure(db, "dropping the ledger \(SchemaLedger.qualifiedName)", error))
        }
        logger.info("schema: \(db.label) uninstalled (was version \(version); uninstall.sql ran and \(SchemaLedger.qualifiedName) was dropped, \(formatDuration(Instant.now().seconds(since: start))))")
        return .success(())
    }
}

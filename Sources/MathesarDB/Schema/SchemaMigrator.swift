import MathesarInit
import PostgresClient

/// Brings one database up to the bundle's newest version, under the schema
/// lock: each pending file in its own transaction together with its ledger
/// row, so that a file is either applied and recorded or neither.
struct SchemaMigrator {
    let bundle: SchemaBundle
    let logger: Logger

    enum LedgerPolicy {
        /// Create the ledger when the database has none (`schema install`, `MATHESAR_SCHEMA_DATABASES`).
        case createIfMissing
        /// No ledger is an error (`schema upgrade`).
        case requireExisting
    }

    struct Outcome: Equatable {
        var from: Int
        var to: Int
        var applied: Int
        var seconds: Double
        var createdLedger: Bool

        /// "schema: sales 3 -> 5 (2 files, 140 ms)".
        func summary(_ label: String) -> String {
            let took = formatDuration(seconds)
            if applied == 0 { return "schema: \(label) at version \(to), up to date (\(took))" }
            let files = applied == 1 ? "1 file" : "\(applied) files"
            return "schema: \(label) \(from) -> \(to) (\(createdLedger ? "installed, " : "")\(files), \(took))"
        }
    }

    func migrate(_ db: SchemaDatabase, ledger policy: LedgerPolicy) -> Result<Outcome, Failure> {
        let start = Instant.now()
        let connection = db.connection
        let lock: SchemaLock
        do {
            lock = try SchemaLock.acquire(connection) { logger.info("schema: \(db.label) \($0)") }
        } catch {
            return .failure(Self.bookkeepingFailure(db, "taking the schema lock", error))
        }
        defer { lock.release() }

        // Read the ledger only now that the lock is ours: another runner may
        // have applied everything while this one waited.
        var createdLedger = false
        let entries: [SchemaLedger.Entry]
        var step = "reading the ledger \(SchemaLedger.qualifiedName)"
        do {
            if try !SchemaLedger.exists(connection) {
                guard policy == .createIfMissing else {
                    return .failure(Failure(ExitCode.migrationFailed, "schema: database \(db.label) does not have the Mathesar schema installed (no \(SchemaLedger.qualifiedName) table); run: mathesar-init schema install --database \(db.label)"))
                }
                step = "creating the ledger \(SchemaLedger.qualifiedName)"
                try SchemaLedger.create(connection)
                createdLedger = true
                step = "reading the ledger \(SchemaLedger.qualifiedName)"
            }
            entries = try SchemaLedger.read(connection)
        } catch {
            return .failure(Self.bookkeepingFailure(db, step, error))
        }

        let plan = SchemaPlan(bundle: bundle, ledger: entries)
        if !plan.problems.isEmpty {
            let reasons = plan.problems.map { plan.describe($0, database: db.label) }
            return .failure(Failure(ExitCode.migrationFailed, "schema: " + reasons.joined(separator: "\nschema: ") + "\nschema: nothing was applied to \(db.label)"))
        }
        if let newest = plan.unknown.last {
            logger.warning("schema: database \(db.label) has version \(newest.version) (\(newest.name)) applied, newer than this bundle's \(bundle.latestVersion) (\(bundle.directory)); an image with a newer bundle applied it. Left as it is")
        }

        var version = plan.installed
        for file in plan.pending {
            let fileStart = Instant.now()
            let result = file.transactional ? applyInTransaction(file, db, version: version) : applyAlone(file, db)
            if case .failure(let failure) = result { return .failure(failure) }
            version = file.version
            let seconds = Instant.now().seconds(since: fileStart)
            if seconds >= 1 { logger.info("schema: \(db.label) \(file.fileName) applied (\(formatDuration(seconds)))") }
        }
        return .success(Outcome(from: plan.installed, to: version, applied: plan.pending.count,
                                seconds: Instant.now().seconds(since: start), createdLedger: createdLedger))
    }

    /// BEGIN; the file; its ledger row; COMMIT. Any error rolls all of it back.
    private func applyInTransaction(_ file: SchemaBundle.File, _ db: SchemaDatabase, version: Int) -> Result<Void, Failure> {
        let connection = db.connection
        let rolledBack = "it was rolled back: nothing of it was applied and the ledger stays at version \(version)"
        do {
            try connection.execute("BEGIN")
        } catch {
            return .failure(Self.bookkeepingFailure(db, "starting the transaction for \(file.fileName)", error))
        }
        let start = Instant.now()
        db.currentFile = file.fileName
        do {
            try connection.execute(file.sql)
        } catch {
            db.currentFile = nil
            _ = try? connection.execute("ROLLBACK")
            return .failure(Self.fileFailure(db, file.fileName, error, location: Self.location(of: error, in: file.sql), note: rolledBack))
        }
        db.currentFile = nil
        let milliseconds = Int(Instant.now().milliseconds(since: start))
        do {
            if connection.inTransaction {
                try SchemaLedger.record(file, durationMs: milliseconds, on: connection)
                try connection.execute("COMMIT")
            } else {
                // The file ended our transaction itself (COMMIT in it); what it did is
                // committed, so record it now rather than run it again next time.
                try SchemaLedger.record(file, durationMs: milliseconds, on: connection)
                logger.warning("schema: \(db.label) \(file.fileName) ends the transaction itself (COMMIT or ROLLBACK in the file), so it did not run atomically; it is recorded as applied. Mark such a file with \(SchemaBundle.noTransactionMarker) on its first line")
            }
            // A file's SET lasts for the session; the next file starts from the defaults.
            try connection.execute("RESET ALL")
        } catch {
            _ = try? connection.execute("ROLLBACK")
            return .failure(Self.fileFailure(db, file.fileName, error, location: "at COMMIT (a deferred constraint or the ledger row)", note: rolledBack))
        }
        return .success(())
    }

    /// A `-- mathesar:no-transaction` file: each statement sent on its own,
    /// outside any transaction block; the ledger row is written right after.
    private func applyAlone(_ file: SchemaBundle.File, _ db: SchemaDatabase) -> Result<Void, Failure> {
        let connection = db.connection
        let statements = SQLStatements.split(file.sql)
        let start = Instant.now()
        db.currentFile = file.fileName
        for (index, statement) in statements.enumerated() {
            do {
                try connection.execute(statement.text)
            } catch {
                db.currentFile = nil
                if connection.inTransaction { _ = try? connection.execute("ROLLBACK") }
                let line = statement.line + (error.line(in: statement.text) ?? 1) - 1
                let note = index == 0
                    ? "the file runs outside a transaction (\(SchemaBundle.noTransactionMarker)); nothing of it was applied and it is not recorded"
                    : "the file runs outside a transaction (\(SchemaBundle.noTransactionMarker)): its first \(index) statement(s) stay applied, and the whole file runs again next time, so write it to be repeatable (IF NOT EXISTS)"
                return .failure(Self.fileFailure(db, file.fileName, error, location: "line \(line)", note: note))
            }
        }
        db.currentFile = nil
        if connection.inTransaction { _ = try? connection.execute("COMMIT") }  // a file that opened one and left it open
        do {
            try SchemaLedger.record(file, durationMs: Int(Instant.now().milliseconds(since: start)), on: connection)
            try connection.execute("RESET ALL")
        } catch {
            return .failure(Failure(ExitCode.migrationFailed, "schema: database \(db.label), file \(file.fileName): it was applied, but recording it in \(SchemaLedger.qualifiedName) failed: \(error); it will run again next time"))
        }
        return .success(())
    }

    /// "line 4": from the error's position when the server gave one (parse
    /// and analysis errors), else the start of the failing statement.
    static func location(of error: PostgresError, in sql: String) -> String {
        if let line = error.line(in: sql) { return "line \(line)" }
        if let index = error.statementIndex {
            let statements = SQLStatements.split(sql)
            if index < statements.count { return "line \(statements[index].line) (the statement starting there)" }
        }
        return "line unknown"
    }

    static func fileFailure(_ db: SchemaDatabase, _ fileName: String, _ error: PostgresError, location: String, note: String) -> Failure {
        var text = "schema: database \(db.label), file \(fileName), \(location): \(error)"
        if let context = error.context {
            text += "; context: " + context.split(separator: "\n").joined(separator: " / ")
        }
        return Failure(ExitCode.migrationFailed, text + "; \(note)")
    }

    /// Our own statements failing: a privilege or a lost connection is the
    /// database being unusable (69); anything else a failed upgrade (76).
    static func bookkeepingFailure(_ db: SchemaDatabase, _ step: String, _ error: PostgresError) -> Failure {
        let unusable = error.sqlState == nil || error.sqlState == "42501" || error.sqlState!.hasPrefix("08")
        var text = "schema: database \(db.label): \(step) failed: \(error)"
        if error.sqlState == "42501" { text += "; the role needs CREATE on the database (own it, or be SUPERUSER)" }
        return Failure(unusable ? ExitCode.databaseUnavailable : ExitCode.migrationFailed, text)
    }
}

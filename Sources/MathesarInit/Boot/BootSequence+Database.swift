import Glibc

/// The bundled database phase, one step at a time (as the postgres image's
/// entrypoint does): clean up an interrupted first boot, adopt or upgrade the
/// existing cluster, make a new one when PGDATA is empty, fix ownership, start
/// the server, wait until it is ready and reconcile the role and database,
/// finish an upgrade. The external one is in BootSequence.swift.
extension BootSequence {
    /// What the database phase leaves for the rest of boot.
    struct RunningDatabase {
        /// The bundled role's password changed at this boot (the reconcile said so).
        var passwordChanged = false
        /// The internal database's migration fingerprint, when it was asked for (see BootSequence+Migrate.swift).
        var migrationState: String?
    }

    func startBundledDatabase(_ bundled: BundledPlan, _ volume: PreparedVolume) throws(Interruption) -> (RunningDatabase, String) {
        var notes: [String] = []
        do {
            try removeInitLeftovers(bundled)
            try bundled.server.unknownUser?.install(home: config.pgdata)
            if let unknownUser = bundled.server.unknownUser {
                notes.append("uid \(unknownUser.uid) has no passwd entry: PostgreSQL's programs get one from nss_wrapper (\(unknownUser.passwdPath))")
            }
            notes += try prepareExistingCluster(bundled)
            if ClusterDirectory.classify(config.pgdata) == .empty { notes.append(try makeNewCluster(bundled)) }
            notes += try fixOwnership(bundled)
        } catch let failure as Failure {
            throw .failure(failure)
        } catch let interruption as Interruption {
            throw interruption
        } catch {
            throw fail(ExitCode.internalError, "\(error)")
        }
        let postmaster = try startServer(bundled)
        let (passwordChanged, migrationState) = try waitUntilReadyAndReconcile(postmaster: postmaster, helper: volume.helper)
        notes += try finishUpgrade(bundled, helper: volume.helper)
        notes.append("PostgreSQL \(bundled.major) ready on 127.0.0.1:\(config.database.port) and \(bundled.server.socketDirectory); role \(config.database.user) and database \(config.database.name) reconciled")
        return (RunningDatabase(passwordChanged: passwordChanged, migrationState: migrationState), notes.joined(separator: "; "))
    }

    /// What an interrupted first boot left (a half-made cluster directory) goes first.
    private func removeInitLeftovers(_ bundled: BundledPlan) throws(Failure) {
        let removed = bundled.server.removeInitLeftovers()
        if !removed.isEmpty {
            logger.warning("removed what an interrupted first boot left: \(removed.joined(separator: ", "))")
        }
    }

    /// PGDATA is empty: a new cluster is made in a temporary directory beside
    /// it and moved in only once complete, so a stop or a crash leaves PGDATA
    /// empty, never half made. The one place a new cluster comes from.
    func makeNewCluster(_ bundled: BundledPlan) throws(Interruption) -> String {
        let server = bundled.server
        let start = Instant.now()
        let target: String
        do { target = try server.prepareInitDirectory() } catch { throw .failure(error) }
        // The image's template cluster when it fits (BootSequence+Template.swift), else initdb.
        if let copied = try copyTemplate(bundled, into: target) {
            do { try server.finishInit(target: target) } catch { throw .failure(error) }
            return try seedFromTemplate(copied.manifest, note: copied.note, seconds: Instant.now().seconds(since: start))
        }
        let result: TaskResult
        do {
            result = try supervisor.runTask(server.initdbSpec(target: target))
        } catch {
            // Stopped mid-initdb, or initdb could not start: leave no temporary directory behind.
            FileSystem.removeTree(target)
            throw error
        }
        guard result.status.succeeded else {
            FileSystem.removeTree(target)
            throw fail(ExitCode.volumeUnusable, "initdb \(result.status); nothing was left in \(config.pgdata). Its last lines:\n  " + result.lines.suffix(8).joined(separator: "\n  "))
        }
        do { try server.finishInit(target: target) } catch { throw .failure(error) }
        return "created a PostgreSQL \(bundled.major) cluster in \(formatDuration(Instant.now().seconds(since: start)))"
    }

    /// The server's account owns PGDATA with the modes PostgreSQL insists on;
    /// its socket directory exists; a postmaster.pid no live server owns is gone.
    private func fixOwnership(_ bundled: BundledPlan) throws(Failure) -> [String] {
        let server = bundled.server
        var notes: [String] = []
        let fixed = try server.fixOwnership()
        if fixed > 0 { notes.append("fixed ownership or mode of \(fixed) entries in \(config.pgdata)") }
        try server.prepareSocketDirectory()
        if let why = try server.clearStalePidFile(liveChildren: supervisor.liveChildren) {
            logger.warning("removed \(config.pgdata)/postmaster.pid: \(why)")
        }
        return notes
    }

    /// Starts the postmaster as a service: from now on its exit interrupts boot,
    /// and after boot the supervisor restarts it by the same launcher.
    private func startServer(_ bundled: BundledPlan) throws(Interruption) -> pid_t {
        let server = bundled.server
        supervisor.setLauncher(.postgres) { [supervisor] () throws(Failure) in
            _ = try? server.clearStalePidFile(liveChildren: supervisor.liveChildren)
            return server.serverSpec()
        }
        do {
            return try supervisor.start(.postgres)
        } catch {
            throw .failure(error)
        }
    }

    /// The helper waits for the server and reconciles the role, its password
    /// and the internal database; returns whether the password changed.
    private func waitUntilReadyAndReconcile(postmaster: pid_t, helper: DatabaseHelper) throws(Interruption) -> (Bool, String?) {
        let extra = migrationStateRequest().merging([DatabaseHelper.Variable.postmasterPID: String(postmaster)]) { $1 }
        let ready = try supervisor.runTask(helper.spec(.bundledReady, extra: extra), serviceLost: { _, status, lines in
            Failure(ExitCode.databaseUnavailable, "PostgreSQL \(status) while starting; its last lines:\n  " + lines.suffix(12).joined(separator: "\n  "))
        })
        try requireHelperSuccess(ready, helper: helper, step: "waiting for the bundled PostgreSQL")
        return (ready.lines.contains { $0.contains(DatabaseHelper.passwordChangedNote(config.database.user)) },
                DatabaseHelper.migrationFingerprint(in: ready.lines))
    }
}

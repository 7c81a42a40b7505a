/// The bundled cluster's adoption and major-version upgrade, as boot steps:
/// preflight inspects (reads only), the database phase performs before the
/// server starts, and finishes once it is ready. See Postgres/Upgrade/.
extension BootSequence {
    /// Preflight, before PGDATA is classified: an interrupted upgrade decides
    /// what PGDATA will hold. Nil when none is pending.
    func inspectPendingUpgrade(_ bundled: BundledPlan) throws(Interruption) -> (ClusterUpgrade, String)? {
        let serverMajor = bundled.major
        let paths = UpgradePaths(pgdata: config.pgdata)
        let journal: UpgradeJournal
        switch UpgradeJournal.load(paths) {
        case .failure(let failure): throw .failure(failure)
        case .success(nil): return nil
        case .success(let found?): journal = found
        }
        let action = UpgradeRecovery.decide(journal, paths: paths, serverMajor: serverMajor)
        let interrupted = "an upgrade from PostgreSQL \(journal.oldMajor) to \(journal.newMajor) was interrupted at step \(journal.step.rawValue)"
        switch action {
        case .refuse(let message):
            throw .failure(Failure(ExitCode.volumeUnusable, message))
        case .swap, .finishAfterStart:
            return (makeUpgrade(bundled, plan: nil), "\(interrupted): it will be finished")
        case .rollBack:
            if journal.oldMajor > serverMajor {
                throw .failure(Failure(ExitCode.volumeUnusable, "\(interrupted), and \(config.pgdata) holds a PostgreSQL \(journal.oldMajor) cluster, newer than this server (\(serverMajor)); nothing was changed. Use an image with PostgreSQL \(journal.newMajor)"))
            }
            var note = "\(interrupted): it will be undone (\(config.pgdata) holds the PostgreSQL \(journal.oldMajor) cluster as it was)"
            var plan: UpgradePlan?
            if journal.oldMajor < serverMajor {
                plan = try makePlan(oldMajor: journal.oldMajor, bundled, rollbackPending: true)
                note += ", then " + plan!.summary
            }
            return (makeUpgrade(bundled, plan: plan), note)
        }
    }

    /// Preflight for a cluster older than the server: everything the upgrade
    /// needs, checked before anything is written.
    func inspectUpgrade(from oldMajor: Int, _ bundled: BundledPlan) throws(Interruption) -> (ClusterUpgrade, String) {
        let plan = try makePlan(oldMajor: oldMajor, bundled, rollbackPending: false)
        return (makeUpgrade(bundled, plan: plan), plan.summary)
    }

    private func makePlan(oldMajor: Int, _ bundled: BundledPlan, rollbackPending: Bool) throws(Interruption) -> UpgradePlan {
        // The version of MATHESAR_PG_OLD_BINDIR when its path does not say it: asked now, through the supervisor.
        var probed: Int?
        if let configured = config.pgOldBinDirectory {
            let candidate = ServerBinaries(directory: configured, origin: "MATHESAR_PG_OLD_BINDIR")
            if candidate.majorVersionFromPath == nil, candidate.missing(UpgradePrograms.old).isEmpty,
               case .success(let major) = try candidate.majorVersion(tasks: supervisor, user: bundled.serverUser) {
                probed = major
            }
        }
        switch UpgradePlan.inspect(config: config, oldMajor: oldMajor, newMajor: bundled.major, newBinaries: bundled.server.binaries,
                                   rollbackPending: rollbackPending, majorOf: { $0.majorVersionFromPath ?? probed }) {
        case .success(let plan): return plan
        case .failure(let failure): throw .failure(failure)
        }
    }

    private func makeUpgrade(_ bundled: BundledPlan, plan: UpgradePlan?) -> ClusterUpgrade {
        ClusterUpgrade(tasks: supervisor, logger: logger, config: config, serverUser: bundled.serverUser,
                       newBinaries: bundled.server.binaries, newMajor: bundled.major, plan: plan)
    }

    /// Database phase, before the server starts: adopts a pg_createcluster
    /// layout, then finishes or undoes an interrupted upgrade and runs a
    /// pending one up to the swap.
    func prepareExistingCluster(_ bundled: BundledPlan) throws(Interruption) -> [String] {
        var notes: [String] = []
        // Preflight refused a layout whose configuration is missing already, before any write.
        let adoption = DebianClusterLayout.inspect(pgdata: config.pgdata)
        if case .failure(let failure) = adoption { throw .failure(failure) }
        if case .success(let directory?) = adoption {
            let changes: [String]
            do { changes = try DebianClusterLayout.adopt(pgdata: config.pgdata, configDirectory: directory, owner: bundled.serverUser) } catch { throw .failure(error) }
            logger.info("adopted the cluster in \(config.pgdata) made by pg_createcluster: copied postgresql.conf, pg_hba.conf and pg_ident.conf from \(directory) into it, once (the originals are untouched)" + (changes.isEmpty ? "" : "; " + changes.joined(separator: "; ")))
            logger.warning(DebianClusterLayout.credentialsWarning(pgdata: config.pgdata))
            notes.append("adopted the cluster made by pg_createcluster (configuration from \(directory))")
        }
        if let upgrade = bundled.upgrade { notes += try upgrade.prepare() }
        return notes
    }

    /// After the server answered: the rest of an upgrade (check, extensions, statistics, old cluster).
    func finishUpgrade(_ bundled: BundledPlan, helper: DatabaseHelper) throws(Interruption) -> [String] {
        guard let upgrade = bundled.upgrade else { return [] }
        return try upgrade.finish(helper: helper, socketDirectory: bundled.server.socketDirectory)
    }
}

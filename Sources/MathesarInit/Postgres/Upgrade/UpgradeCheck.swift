/// For `mathesar-init check`: what the next boot will do with PGDATA beyond
/// starting it (adopt a pg_createcluster layout, finish or undo an
/// interrupted upgrade, upgrade an older cluster), and whether everything
/// that needs is present. Reads only; runs nothing.
public enum UpgradeCheck {
    public struct Finding: Equatable, Sendable {
        /// A problem that makes the next boot fail (check should exit non-zero).
        public var problem: Bool
        public var text: String
        /// For a problem: the exit code boot would end with (73, or 78 for a bad MATHESAR_PG_OLD_BINDIR).
        public var code: Int32?

        public init(problem: Bool, text: String, code: Int32? = nil) {
            self.problem = problem
            self.text = text
            self.code = code
        }
    }

    /// - Parameters:
    ///   - serverBinaries, serverMajor: the bundled server this image runs.
    ///   - majorOf: the version of a bin directory whose path does not say it
    ///     (MATHESAR_PG_OLD_BINDIR); by default unknown, and then not compared.
    public static func report(config: Configuration, serverBinaries: ServerBinaries, serverMajor: Int,
                              majorOf: (ServerBinaries) -> Int? = { $0.majorVersionFromPath }) -> [Finding] {
        let paths = UpgradePaths(pgdata: config.pgdata)
        var findings: [Finding] = []
        func info(_ text: String) { findings.append(Finding(problem: false, text: text)) }
        func problem(_ text: String, _ code: Int32 = ExitCode.volumeUnusable) { findings.append(Finding(problem: true, text: text, code: code)) }
        func plan(oldMajor: Int, rollbackPending: Bool) {
            switch UpgradePlan.inspect(config: config, oldMajor: oldMajor, newMajor: serverMajor, newBinaries: serverBinaries,
                                       rollbackPending: rollbackPending, majorOf: majorOf) {
            case .success(let plan): info("pending upgrade: \(plan.summary); all it needs is present")
            case .failure(let failure): problem("pending upgrade: " + failure.message, failure.code)
            }
        }

        if DebianClusterLayout.needsAdoption(pgdata: config.pgdata), case .cluster(let major) = ClusterDirectory.classify(config.pgdata) {
            if let directory = DebianClusterLayout.findConfigDirectory(pgdata: config.pgdata, major: major) {
                info("\(config.pgdata) has no postgresql.conf: the next boot copies it, pg_hba.conf and pg_ident.conf from \(directory) (a cluster made by pg_createcluster, as in Mathesar's image)")
            } else {
                problem("\(config.pgdata) holds a PostgreSQL \(major) cluster without postgresql.conf, and no \(DebianClusterLayout.configRoot)/\(major)/*/postgresql.conf names it as data_directory; mount Mathesar's /etc/postgresql volume too, or put the configuration files into \(config.pgdata)")
            }
        }

        switch UpgradeJournal.load(paths) {
        case .failure(let failure):
            problem(failure.message, failure.code)
            return findings
        case .success(let journal?):
            let action = UpgradeRecovery.decide(journal, paths: paths, serverMajor: serverMajor)
            let interrupted = "an upgrade from PostgreSQL \(journal.oldMajor) to \(journal.newMajor) was interrupted at step \(journal.step.rawValue) (journal \(paths.journal))"
            switch action {
            case .refuse(let message):
                problem(message)
            case .swap, .finishAfterStart:
                info("\(interrupted): the next boot finishes it")
            case .rollBack:
                info("\(interrupted): the next boot undoes it (removes \(paths.newCluster(major: journal.newMajor)); \(paths.pgdata) is the PostgreSQL \(journal.oldMajor) cluster as it was)")
                if journal.oldMajor < serverMajor { plan(oldMajor: journal.oldMajor, rollbackPending: true) }
            }
        case .success(nil):
            if case .cluster(let found) = ClusterDirectory.classify(config.pgdata), found < serverMajor {
                plan(oldMajor: found, rollbackPending: false)
            }
        }
        return findings
    }
}

import Glibc

/// Upgrades the bundled cluster to the server's major version, one journaled
/// step at a time, every program (pg_controldata, postgres --single, initdb,
/// pg_upgrade, vacuumdb) a task (at boot: of PID 1's supervisor) run as the server's
/// account. PGDATA itself is only ever renamed, and only after pg_upgrade
/// succeeded and the new cluster was flushed to disk; the old cluster is
/// removed only after the new server answered a check query.
///
/// `prepare` runs before the server starts (recovery of an interrupted
/// upgrade, then the upgrade up to the swap); `finish` after it is ready.
public final class ClusterUpgrade {
    let tasks: any TaskRunner
    let logger: Logger
    let config: Configuration
    let serverUser: UserIdentity?
    let newBinaries: ServerBinaries
    let newMajor: Int
    let paths: UpgradePaths
    /// From preflight, when this boot upgrades (nil when it only finishes or undoes one).
    var plan: UpgradePlan?
    /// Set once PGDATA is the new cluster and the post-start steps remain.
    private(set) var pending: UpgradeJournal?
    static let totalSteps = 6

    public init(tasks: any TaskRunner, logger: Logger, config: Configuration, serverUser: UserIdentity?, newBinaries: ServerBinaries,
                newMajor: Int, plan: UpgradePlan?) {
        self.tasks = tasks
        self.logger = logger
        self.config = config
        self.serverUser = serverUser
        self.newBinaries = newBinaries
        self.newMajor = newMajor
        self.paths = UpgradePaths(pgdata: config.pgdata)
        self.plan = plan
    }

    // MARK: before the server starts

    /// Finishes or undoes an interrupted upgrade, then upgrades an older
    /// cluster up to the swap. Returns notes for the phase's line.
    public func prepare() throws(Interruption) -> [String] {
        var notes: [String] = []
        switch UpgradeJournal.load(paths) {
        case .failure(let failure): throw .failure(failure)
        case .success(nil): break
        case .success(let journal?): notes += try recover(journal)
        }
        if pending == nil, let plan, case .cluster(let found) = ClusterDirectory.classify(config.pgdata), found == plan.oldMajor {
            notes += try upgrade(plan)
        }
        return notes
    }

    private func recover(_ journal: UpgradeJournal) throws(Interruption) -> [String] {
        let action = UpgradeRecovery.decide(journal, paths: paths, serverMajor: newMajor)
        switch action {
        case .refuse(let message):
            throw .failure(Failure(ExitCode.volumeUnusable, message))
        case .rollBack:
            try rollBack(journal)
            let note = "undid the upgrade to PostgreSQL \(journal.newMajor) interrupted at step \(journal.step.rawValue): \(paths.pgdata) holds the PostgreSQL \(journal.oldMajor) cluster as it was"
            logger.warning("upgrade: " + note)
            return [note]
        case .swap(let renameOld):
            logger.info("upgrade: finishing the upgrade to PostgreSQL \(journal.newMajor) interrupted after pg_upgrade succeeded")
            var journal = journal
            try swap(&journal, renameOld: renameOld)
            pending = journal
            return ["finished the interrupted swap of the upgraded cluster into \(paths.pgdata)"]
        case .finishAfterStart:
            logger.info("upgrade: the upgrade to PostgreSQL \(journal.newMajor) was interrupted at step \(journal.step.rawValue); it is finished once the server answers")
            pending = journal
            return []
        }
    }

    /// Removes the half-made new cluster; PGDATA is the old cluster again.
    private func rollBack(_ journal: UpgradeJournal, keepLogs: Bool = false) throws(Interruption) {
        let new = paths.newCluster(major: journal.newMajor)
        if keepLogs, FileIO.isDirectory(new + "/pg_upgrade_output.d") {
            FileSystem.removeTree(paths.failedLogs)
            _ = rename(new + "/pg_upgrade_output.d", paths.failedLogs)
        }
        // Link mode: pg_upgrade disabled the old cluster before linking; the new one never started.
        let control = paths.pgdata + "/global/pg_control"
        if !FileIO.exists(control), FileIO.exists(control + ".old") {
            if rename(control + ".old", control) != 0 {
                throw .failure(Failure(ExitCode.volumeUnusable, "cannot rename \(control).old back to \(control): \(lastErrnoText()); the old cluster is otherwise intact, rename it by hand"))
            }
            AtomicFile.syncDirectory(paths.pgdata + "/global")
        }
        if !FileSystem.removeTree(new) {
            throw .failure(Failure(ExitCode.volumeUnusable, "cannot remove the half-made cluster \(new): \(lastErrnoText()); remove it by hand (the old cluster in \(paths.pgdata) is intact)"))
        }
        AtomicFile.syncDirectory(paths.parent)
        do { try UpgradeJournal.remove(paths) } catch { throw .failure(error) }
    }

    /// PGDATA -> PGDATA.M.old, then PGDATA.N.new -> PGDATA, each rename made durable.
    private func swap(_ journal: inout UpgradeJournal, renameOld: Bool) throws(Interruption) {
        let old = paths.oldCluster(major: journal.oldMajor), new = paths.newCluster(major: journal.newMajor)
        if renameOld {
            let rc = FileSystem.renameNoReplace(paths.pgdata, old)
            if rc != 0 { throw .failure(Failure(ExitCode.volumeUnusable, "cannot rename \(paths.pgdata) to \(old): \(errnoText(rc)); the old cluster is intact, the next boot retries")) }
            AtomicFile.syncDirectory(paths.parent)
        }
        let rc = FileSystem.renameNoReplace(new, paths.pgdata)
        if rc != 0 { throw .failure(Failure(ExitCode.volumeUnusable, "cannot rename \(new) to \(paths.pgdata): \(errnoText(rc)); the old cluster is intact in \(old), the next boot retries")) }
        AtomicFile.syncDirectory(paths.parent)
        do { try journal.advance(to: .swapped, paths) } catch { throw .failure(error) }
        logger.info("upgrade: step 5/\(Self.totalSteps): \(paths.pgdata) now holds the PostgreSQL \(journal.newMajor) cluster; the PostgreSQL \(journal.oldMajor) cluster stays in \(old) until the new server has answered")
    }

    // MARK: the upgrade

    private func upgrade(_ plan: UpgradePlan) throws(Interruption) -> [String] {
        let start = Instant.now()
        // Space again: a roll-back just now may have freed some, and nothing may be started without it.
        var plan = plan
        plan.availableBytes = FileSystem.space(paths.parent)?.free ?? 0
        if let failure = plan.spaceFailure() { throw .failure(failure) }
        logger.info("upgrade: upgrading the PostgreSQL \(plan.oldMajor) cluster in \(paths.pgdata) (\(formatBytes(plan.clusterBytes))) to \(plan.newMajor); \(formatBytes(plan.availableBytes)) free, about \(formatBytes(plan.neededBytes)) needed; journal in \(paths.journal)")
        var journal = UpgradeJournal(oldMajor: plan.oldMajor, newMajor: plan.newMajor, oldBinDirectory: plan.oldBinaries.directory,
                                     newBinDirectory: plan.newBinaries.directory, requestedMode: plan.requestedMode, keepOld: plan.keepOld)
        do { try journal.save(paths) } catch { throw .failure(error) }
        let new = paths.newCluster(major: plan.newMajor)
        let oldServer = server(plan.oldBinaries, paths.pgdata)
        do {
            let facts = try step(&journal, .inspecting, 1, "reading the PostgreSQL \(plan.oldMajor) cluster with its own programs (recovery, clean shutdown)") {
                () throws(Interruption) in try readOldCluster(plan, oldServer)
            }
            let carried = try step(&journal, .initializing, 2, "initdb of the PostgreSQL \(plan.newMajor) cluster in \(new) (\(facts.description))") {
                () throws(Interruption) in try initializeNewCluster(plan, facts, new)
            }
            if let carried { logger.warning("upgrade: " + carried) }
            let transfer = try step(&journal, .checking, 3, "pg_upgrade --check") {
                () throws(Interruption) in try checkUpgrade(plan, facts, new)
            }
            journal.transfer = transfer
            try step(&journal, .upgrading, 4, "pg_upgrade --\(transfer.rawValue), then flushing the new cluster to disk") {
                () throws(Interruption) in try runUpgrade(plan, facts, new, transfer)
            }
            // Only now, with every file of the new cluster on disk, may a crash lead forward.
            try advance(&journal, to: .upgraded)
        } catch .stop(let signo) {
            stopStrayServers(plan, new)
            throw .stop(signal: signo)
        } catch .failure(let failure) {
            stopStrayServers(plan, new)
            do {
                try rollBack(journal, keepLogs: true)
            } catch {
                logger.error("upgrade: the roll-back failed too; the next boot retries it")
            }
            let logs = FileIO.exists(paths.failedLogs) ? " pg_upgrade's logs are kept in \(paths.failedLogs)." : ""
            // A full volume rarely says so (PostgreSQL: "could not write init file"):
            // after the roll-back has freed the new cluster, compare what is free with what is needed.
            var space = ""
            if let free = FileSystem.space(paths.parent)?.free, free < plan.neededBytes {
                space = " The volume \(paths.parent) has \(formatBytes(free)) free after the roll-back, and the upgrade needs about \(formatBytes(plan.neededBytes)) (the volume probably filled up): free space there or enlarge the volume, then boot again."
            }
            throw .failure(Failure(failure.code, "upgrading PostgreSQL \(plan.oldMajor) to \(plan.newMajor) failed, and was undone: \(paths.pgdata) holds the PostgreSQL \(plan.oldMajor) cluster as it was.\(logs)\(space) \(failure.message)"))
        }
        try swap(&journal, renameOld: true)
        FileSystem.removeTree(paths.failedLogs)  // an earlier attempt's, now moot
        pending = journal
        return ["upgraded PostgreSQL \(plan.oldMajor) to \(plan.newMajor) (\(journal.transfer?.rawValue ?? "?") mode) in \(formatDuration(Instant.now().seconds(since: start)))"]
    }

    /// Journals `next`, logs its start and its end with the duration.
    private func step<T>(_ journal: inout UpgradeJournal, _ next: UpgradeJournal.Step, _ number: Int, _ what: String,
                         _ body: () throws(Interruption) -> T) throws(Interruption) -> T {
        try advance(&journal, to: next)
        logger.info("upgrade: step \(number)/\(Self.totalSteps): \(what) ...")
        let start = Instant.now()
        let result = try body()
        logger.info("upgrade: step \(number)/\(Self.totalSteps): \(what): done (\(formatDuration(Instant.now().seconds(since: start))))")
        return result
    }

    /// One query in single-user mode, which also runs crash recovery and ends
    /// with a shutdown checkpoint: pg_upgrade needs a cleanly shut down old cluster.
    private func readOldCluster(_ plan: UpgradePlan, _ oldServer: BundledServer) throws(Interruption) -> OldClusterFacts {
        do {
            if let why = try oldServer.clearStalePidFile(liveChildren: tasks.liveChildren) {
                logger.warning("upgrade: removed \(paths.pgdata)/postmaster.pid: \(why)")
            }
        } catch {
            throw .failure(error)
        }
        var environment = oldServer.serverEnvironment()
        environment["LC_ALL"] = "C"
        let queryFile = UpgradePaths.workDirectory(runDirectory: config.runDirectory) + ".query.sql"
        if let problem = AtomicFile.write(path: queryFile, contents: Array(OldClusterFacts.query(oldMajor: plan.oldMajor).utf8), mode: 0o600, durable: false) {
            throw .failure(Failure(ExitCode.volumeUnusable, "cannot write \(queryFile): \(problem)"))
        }
        defer { unlink(queryFile) }
        let lines = try run(plan.oldBinaries, "postgres", ["--single", "-D", paths.pgdata, "-c", "exit_on_error=on", "-c", "log_checkpoints=off",
                                                           "-c", "log_min_messages=warning", "-c", "lc_messages=C", "template1"],
                            environment: environment, stdin: .file(queryFile))
        guard let fields = OldClusterFacts.parseSingleUserOutput(lines) else {
            throw .failure(Failure(ExitCode.volumeUnusable, "the PostgreSQL \(plan.oldMajor) server in single-user mode did not say the cluster's encoding and locale; its output:\n  " + lines.suffix(12).joined(separator: "\n  ")))
        }
        return OldClusterFacts(fields: fields)
    }

    /// initdb into `PGDATA.N.new` with the old cluster's encoding, locale and
    /// checksums, then its configuration. Returns a warning when the old
    /// server settings could not be carried over.
    private func initializeNewCluster(_ plan: UpgradePlan, _ facts: OldClusterFacts, _ new: String) throws(Interruption) -> String? {
        if mkdir(new, 0o700) != 0 {
            throw .failure(Failure(ExitCode.volumeUnusable, "cannot create \(new): \(lastErrnoText())"))
        }
        do { try DataVolume.ownedDirectory(new, mode: 0o700, owner: serverUser) } catch { throw .failure(error) }
        let newServer = server(plan.newBinaries, new)
        _ = try run(plan.newBinaries, "initdb", ["--pgdata=\(new)", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync",
                                                 "--no-instructions"] + facts.initdbArguments(newMajor: plan.newMajor),
                    environment: newServer.serverEnvironment())
        let originals: ConfigurationCarryOver.Originals
        do { originals = try ConfigurationCarryOver.copy(from: paths.pgdata, to: new, owner: serverUser) } catch { throw .failure(error) }
        let validation = try tasks.run(ConfigurationCarryOver.validationSpec(
            binaries: plan.newBinaries, directory: new, user: serverUser, environment: newServer.serverEnvironment()))
        if validation.status.succeeded { return nil }
        let kept: [String]
        do { kept = try ConfigurationCarryOver.revertSettings(in: new, oldMajor: plan.oldMajor, originals: originals, owner: serverUser) } catch { throw .failure(error) }
        let reasons = validation.lines.filter { $0.contains("LOG:") || $0.contains("FATAL:") }.suffix(5)
        return "PostgreSQL \(plan.newMajor) refuses the old server settings (\(reasons.joined(separator: "; "))); the upgraded cluster uses initdb's settings, with pg_hba.conf and pg_ident.conf carried over; the old settings are kept for you to merge: \(kept.joined(separator: ", "))"
    }

    /// `pg_upgrade --check`; in auto mode `--clone` first, `--copy` when the
    /// filesystem cannot clone. Returns the transfer mode to use.
    private func checkUpgrade(_ plan: UpgradePlan, _ facts: OldClusterFacts, _ new: String) throws(Interruption) -> UpgradeMode {
        let first: UpgradeMode = plan.requestedMode == .auto ? .clone : plan.requestedMode
        let result = try tasks.run(pgUpgradeSpec(plan, facts, new, first, check: true))
        if result.status.succeeded { return first }
        if plan.requestedMode == .auto, result.lines.contains(where: { $0.contains("clone") }) {
            logger.info("upgrade: this filesystem cannot clone files (\(result.lines.last { $0.contains("clone") } ?? "")); copying instead")
            let again = try tasks.run(pgUpgradeSpec(plan, facts, new, .copy, check: true))
            if again.status.succeeded { return .copy }
            throw .failure(pgUpgradeFailure("pg_upgrade --check", again))
        }
        throw .failure(pgUpgradeFailure("pg_upgrade --check", result))
    }

    private func runUpgrade(_ plan: UpgradePlan, _ facts: OldClusterFacts, _ new: String, _ transfer: UpgradeMode) throws(Interruption) {
        let result = try tasks.run(pgUpgradeSpec(plan, facts, new, transfer, check: false))
        guard result.status.succeeded else { throw .failure(pgUpgradeFailure("pg_upgrade", result)) }
        if !FileSystem.syncFilesystem(of: new) {
            throw .failure(Failure(ExitCode.volumeUnusable, "cannot flush \(new) to disk: \(lastErrnoText())"))
        }
        // The scripts it leaves in its working directory are for manual upgrades; this one does both steps itself.
        let work = UpgradePaths.workDirectory(runDirectory: config.runDirectory)
        for name in ["delete_old_cluster.sh", "update_extensions.sql"] { unlink(work + "/" + name) }
    }

    /// Its output is kept for an error message, not logged: each step is one line of ours.
    private func pgUpgradeSpec(_ plan: UpgradePlan, _ facts: OldClusterFacts, _ new: String, _ mode: UpgradeMode, check: Bool) throws(Interruption) -> ProcessSpec {
        let work = UpgradePaths.workDirectory(runDirectory: config.runDirectory)
        do { try DataVolume.ownedDirectory(work, mode: 0o700, owner: serverUser) } catch { throw .failure(error) }
        let program = plan.newBinaries.path("pg_upgrade")
        var arguments = [program, "--old-bindir=\(plan.oldBinaries.directory)", "--new-bindir=\(plan.newBinaries.directory)",
                         "--old-datadir=\(paths.pgdata)", "--new-datadir=\(new)", "--username=\(facts.installUser)",
                         "--socketdir=\(work)", "--\(mode.rawValue)"]
        if check { arguments.append("--check") }
        if plan.newMajor >= 15 { arguments.append("--no-sync") }  // flushed once with syncfs afterwards
        var environment = server(plan.newBinaries, new).serverEnvironment()
        environment["LC_ALL"] = "C"
        return ProcessSpec(source: "pg_upgrade", executable: program, arguments: arguments, environment: environment,
                           user: serverUser, workingDirectory: work, output: .captured)
    }

    private func pgUpgradeFailure(_ what: String, _ result: TaskResult) -> Failure {
        Failure(ExitCode.volumeUnusable, "\(what) \(result.status). Its last lines:\n  " + result.lines.suffix(12).joined(separator: "\n  "))
    }

    /// After an interruption of pg_upgrade: the servers it started with pg_ctl
    /// (in their own sessions) are stopped, so nothing keeps running on the data.
    private func stopStrayServers(_ plan: UpgradePlan, _ new: String) {
        for (binaries, directory) in [(plan.oldBinaries, paths.pgdata), (plan.newBinaries, new)]
            where FileIO.exists(directory + "/postmaster.pid") {
            let pgCtl = binaries.path("pg_ctl")
            _ = try? tasks.run(ProcessSpec(
                source: "pg_ctl", executable: pgCtl, arguments: [pgCtl, "stop", "-D", directory, "-m", "fast", "-w", "-t", "5"],
                environment: server(binaries, directory).serverEnvironment(), user: serverUser, workingDirectory: "/", output: .captured))
        }
    }

    // MARK: after the server is ready

    /// Once the new server answered: the check query and extension updates
    /// (by the database helper), statistics, then the old cluster goes.
    public func finish(helper: DatabaseHelper, socketDirectory: String) throws(Interruption) -> [String] {
        guard var journal = pending else { return [] }
        let old = paths.oldCluster(major: journal.oldMajor)
        let verify = try tasks.run(helper.spec(.upgradeVerify))
        guard verify.status.succeeded else {
            throw .failure(Failure(ExitCode.databaseUnavailable, "the upgraded PostgreSQL \(journal.newMajor) cluster started but failed its check (see above); the PostgreSQL \(journal.oldMajor) cluster is intact in \(old). The next boot checks again; to go back to \(journal.oldMajor) instead, stop the container, then move \(paths.pgdata) away, rename \(old) to \(paths.pgdata), delete \(paths.journal), and run the image with PostgreSQL \(journal.oldMajor)"))
        }
        do { try journal.advance(to: .verified, paths) } catch { throw .failure(error) }
        logger.info("upgrade: step 6/\(Self.totalSteps): the PostgreSQL \(journal.newMajor) cluster answered its check; updating statistics (vacuumdb --all --analyze-in-stages) ...")
        let start = Instant.now()
        let vacuumdb = newBinaries.path("vacuumdb")
        let analyze = try tasks.run(ProcessSpec(
            source: "vacuumdb", executable: vacuumdb,
            arguments: [vacuumdb, "--all", "--analyze-in-stages", "--host=\(socketDirectory)", "--port=\(config.database.port)", "--username=\(BundledServer.superuser)"],
            environment: server(newBinaries, paths.pgdata).serverEnvironment(), user: serverUser, workingDirectory: "/", output: .captured))
        if analyze.status.succeeded {
            logger.info("upgrade: statistics updated (\(formatDuration(Instant.now().seconds(since: start))))")
        } else {
            logger.warning("upgrade: vacuumdb --analyze-in-stages \(analyze.status) (\(analyze.lines.suffix(3).joined(separator: "; "))); the planner lacks statistics until autovacuum gathers them, or run it yourself")
        }
        var notes: [String] = []
        if journal.keepOld {
            let shared = journal.transfer == .link ? " (link mode: it shares files with the new cluster and cannot be started again)" : ""
            logger.info("upgrade: the PostgreSQL \(journal.oldMajor) cluster is kept in \(old)\(shared), as MATHESAR_PG_UPGRADE_KEEP_OLD asks; once the new one serves you well, delete it: rm -rf \(old) (in the container: docker exec CONTAINER rm -rf \(old))")
        } else if FileIO.exists(old) {
            let bytes = FileSystem.treeSize(old)
            if FileSystem.removeTree(old) {
                AtomicFile.syncDirectory(paths.parent)
                notes.append("removed the PostgreSQL \(journal.oldMajor) cluster \(old) (\(formatBytes(bytes)))")
            } else {
                logger.warning("upgrade: cannot remove the old cluster \(old) (\(lastErrnoText())); delete it by hand: rm -rf \(old)")
            }
        }
        do { try UpgradeJournal.remove(paths) } catch { throw .failure(error) }
        let total = max(0, Int(time(nil)) - journal.startedAt)
        notes.insert("upgrade from PostgreSQL \(journal.oldMajor) to \(journal.newMajor) complete (\(total) s since it began)", at: 0)
        return notes
    }

    // MARK: helpers

    private func advance(_ journal: inout UpgradeJournal, to next: UpgradeJournal.Step) throws(Interruption) {
        do { try journal.advance(to: next, paths) } catch { throw .failure(error) }
    }

    private func server(_ binaries: ServerBinaries, _ directory: String) -> BundledServer {
        BundledServer(pgdata: directory, binaries: binaries, serverUser: serverUser, runDirectory: config.runDirectory,
                      port: config.database.port, searchPath: config.environment["PATH"])
    }

    /// Runs one of the server's programs as its account; its output is kept, not logged.
    private func run(_ binaries: ServerBinaries, _ program: String, _ arguments: [String], environment: [String: String],
                     stdin: ProcessSpec.Stdin = .null) throws(Interruption) -> [String] {
        let path = binaries.path(program)
        let result = try tasks.run(ProcessSpec(source: program, executable: path, arguments: [path] + arguments,
                                                        environment: environment, user: serverUser, workingDirectory: "/",
                                                        stdin: stdin, output: .captured))
        guard result.status.succeeded else {
            throw .failure(Failure(ExitCode.volumeUnusable, "\(program) \(result.status). Its last lines:\n  " + result.lines.suffix(12).joined(separator: "\n  ")))
        }
        return result.lines
    }
}

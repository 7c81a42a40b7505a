import Glibc

/// `mathesar-init prepare`, at image build: makes the template cluster a
/// first boot copies instead of running initdb and the migrate command.
///
/// It is an ordinary bundled boot (`BootSequence` with the `prepare` goal)
/// in a scratch volume next to the template: initdb with the settings of
/// every boot, the role and internal database reconciled, the migrate
/// command run, the role's password taken away (`__seal-template`), a clean
/// shutdown. The cluster is then copied into `MATHESAR_TEMPLATE_DIR/cluster`
/// (root's, readable by all) with a manifest, and the scratch volume removed.
/// No secret is left in the image: the key and password of this boot are
/// random, kept in memory and the children's environment only, and the
/// template's role has no password at all (it can never log in); the first
/// boot sets the configured one.
public enum PrepareCommand {
    public static func execute() -> Int32 {
        var environment = currentEnvironment()
        let logger = Logger(format: CommandContext.requestedLogFormat(environment))
        if let host = environment["POSTGRES_HOST"], !host.isEmpty {
            logger.error("prepare: POSTGRES_HOST=\(ConfigurationProblem.printable(host)) is set, and prepare makes a template of the bundled cluster, which is not used then; unset it for prepare")
            return ExitCode.configuration
        }
        if environment["DATABASE_URL"] != nil {
            logger.error("prepare: DATABASE_URL is set, and prepare makes a template of the bundled cluster, which is not used then; unset it for prepare")
            return ExitCode.configuration
        }
        let template = environment["MATHESAR_TEMPLATE_DIR"].flatMap(EnvironmentReader.normalizedPath) ?? Configuration.defaultTemplateDirectory
        guard template != "/" else {
            logger.error("prepare: MATHESAR_TEMPLATE_DIR=/ cannot hold a template; give a directory of its own")
            return ExitCode.configuration
        }
        let scratch = template + ".prepare-incomplete"
        let staging = template + ".new-incomplete"
        for leftover in [scratch, staging] where FileIO.exists(leftover) { FileSystem.removeTree(leftover) }
        let parent = AtomicFile.parentDirectory(of: template)
        do {
            try DataVolume.makeDirectories(parent, mode: 0o755)
        } catch {
            logger.error("prepare: \(error.message)")
            return error.code
        }
        guard mkdir(scratch, 0o755) == 0 else {
            logger.error("prepare: cannot create \(scratch): \(lastErrnoText()); \(DataVolume.writableAdvice(parent))")
            return ExitCode.volumeUnusable
        }
        defer { FileSystem.removeTree(scratch) }
        // A boot in the scratch volume, with a one-time key and password.
        let secretKey: String, password: String
        do {
            secretKey = try SecretStore.generate()
            password = try SecretStore.generate()
        } catch {
            logger.error("prepare: \(error.message)")
            return error.code
        }
        for name in ["SECRET_KEY_FILE", "POSTGRES_PASSWORD_FILE", "PGDATA"] { environment[name] = nil }
        environment["MATHESAR_DATA_DIR"] = scratch + "/data"
        environment["MATHESAR_RUN_DIR"] = scratch + "/run"
        environment["SECRET_KEY"] = secretKey
        environment["POSTGRES_PASSWORD"] = password
        environment["MATHESAR_MIGRATE"] = "always"
        let config: Configuration
        switch ConfigurationLoader.load(environment: environment, arguments: [], isRoot: geteuid() == 0) {
        case .success(let loaded): config = loaded
        case .failure(let error):
            logger.error(error.description)
            return ExitCode.configuration
        }
        let runtime: Runtime
        do {
            runtime = try Runtime(logFormat: config.logFormat)
        } catch {
            logger.error(error.message)
            return error.code
        }
        runtime.logger.redact(secretKey)
        runtime.logger.redact(password)
        runtime.logger.info("mathesar-init \(Version.current) prepare: making the template cluster for \(template)")
        let supervisor = Supervisor(runtime: runtime, policy: .never, timings: config.timings, mode: config.database.mode.rawValue)
        let boot = BootSequence(config: config, supervisor: supervisor, goal: .prepare)
        let code = boot.run()
        guard code == 0 else {
            runtime.logger.error("prepare: the boot that makes the template failed (exit \(code)); no template was written")
            runtime.flushOutput()
            return code
        }
        let code2 = install(boot: boot, config: config, template: template, staging: staging, supervisor: supervisor)
        runtime.flushOutput()
        return code2
    }

    /// Copies the stopped cluster into the staging directory with its
    /// manifest, then puts it in place of the old template.
    static func install(boot: BootSequence, config: Configuration, template: String, staging: String, supervisor: Supervisor) -> Int32 {
        let logger = supervisor.logger
        guard let bundled = boot.prepared else { return ExitCode.internalError }
        let server = bundled.server, major = bundled.major
        var version = "PostgreSQL \(major)"
        if let result = try? supervisor.runTask(ProcessSpec(source: "postgres", executable: server.binaries.path("postgres"),
                                                          arguments: [server.binaries.path("postgres"), "--version"],
                                                          environment: ["PATH": CommandResolver.defaultSearchPath],
                                                          user: bundled.serverUser, output: .captured)),
           result.status.succeeded, let line = result.lines.first {
            version = line
        }
        guard mkdir(staging, 0o755) == 0, mkdir(staging + "/" + TemplateCluster.clusterName, 0o755) == 0 else {
            logger.error("prepare: cannot create \(staging): \(lastErrnoText())")
            return ExitCode.volumeUnusable
        }
        let copy: TemplateCluster.Copy
        switch TemplateCluster.copyTree(from: config.pgdata, to: staging + "/" + TemplateCluster.clusterName, directoryMode: 0o755, fileMode: 0o644, makeHoles: true) {
        case .success(let done): copy = done
        case .failure(let failure):
            FileSystem.removeTree(staging)
            logger.error("prepare: \(failure.message)")
            return failure.code
        }
        let manifest = TemplateManifest(
            postgresMajor: major, postgresVersion: version, locale: BundledServer.initdbLocale, encoding: "UTF8",
            role: config.database.user, database: config.database.name,
            appFingerprint: config.migrateCommand == nil ? nil : boot.migration.appFingerprint,
            databaseFingerprint: config.migrateCommand == nil ? nil : boot.migration.databaseFingerprint,
            checksum: copy.checksum, files: copy.files, bytes: copy.bytes)
        if let problem = AtomicFile.write(path: staging + "/" + TemplateCluster.manifestName, contents: Array(manifest.encoded().utf8), mode: 0o644, durable: true) {
            FileSystem.removeTree(staging)
            logger.error("prepare: \(problem)")
            return ExitCode.volumeUnusable
        }
        // The old template (a second prepare) goes only once the new one is
        // complete. A directory of a lower image layer cannot be renamed on
        // overlayfs: then it is removed (a build that fails is discarded anyway).
        let old = template + ".old-incomplete"
        if FileIO.exists(template), rename(template, old) != 0, !FileSystem.removeTree(template) {
            FileSystem.removeTree(staging)
            logger.error("prepare: cannot replace the old template \(template): \(lastErrnoText())")
            return ExitCode.volumeUnusable
        }
        guard rename(staging, template) == 0 else {
            logger.error("prepare: cannot move \(staging) to \(template): \(lastErrnoText())")
            return ExitCode.volumeUnusable
        }
        FileSystem.removeTree(old)
        _ = FileSystem.syncFilesystem(of: template)
        let fingerprints = manifest.appFingerprint.map { "; app fingerprint \($0), migration state \(manifest.databaseFingerprint ?? "-")" }
            ?? (config.migrateCommand == nil ? "; no migrate command (MATHESAR_MIGRATE_COMMAND is not set)" : "; the app's fingerprint is unknown (MATHESAR_APP_FINGERPRINT_PATHS is not set), so boots run the migrate command")
        logger.info("prepare: template cluster in \(template): \(manifest.postgresVersion), locale \(manifest.locale), \(copy.files) files (\(TemplateCluster.formatBytes(copy.bytes)))\(fingerprints)")
        return 0
    }
}

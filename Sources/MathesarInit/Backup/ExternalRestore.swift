import Glibc

/// `restore PATH` in external mode: the internal database of the archive
/// (external or bundled) into `POSTGRES_DB` on the configured server, which
/// must hold no tables yet. One transaction (`pg_restore --single-transaction`):
/// a kill or an error leaves the database as empty as it was.
public struct ExternalRestore {
    let config: Configuration
    let supervisor: Supervisor
    var logger: Logger { supervisor.logger }

    public init(config: Configuration, supervisor: Supervisor) {
        self.config = config
        self.supervisor = supervisor
    }

    public func run(path: String) throws(Interruption) -> String {
        let start = Instant.now()
        let binaries: ServerBinaries
        let staging: String
        let lock: VolumeLock
        var appUser: UserIdentity?
        do throws(Failure) {
            switch ServerBinaries.locate(configured: config.pgBinDirectory, searchPath: config.environment["PATH"]) {
            case .success(let found): binaries = found
            case .failure(let failure): throw failure
            }
            if geteuid() == 0, let name = config.appUser, case .success(let user) = UserDatabase.lookupOnSystem(name) { appUser = user }
            try DataVolume.prepare(config.dataDirectory)
            lock = try VolumeLock.acquire(path: config.lockPath)
            try DataVolume.ownedDirectory(config.dataDirectory + "/backups", mode: 0o700, owner: nil)
            staging = try BackupRun.makePrivateDirectory(in: config.dataDirectory + "/backups", prefix: ".restore-")
        } catch {
            throw .failure(error)
        }
        _ = lock
        defer { FileSystem.removeTree(staging) }
        let verified: ArchiveReader.Verified
        do throws(Failure) {
            verified = try ArchiveReader.unpack(path, into: staging)
        } catch {
            throw .failure(error)
        }
        for secret in verified.secrets.values { logger.redact(secret) }
        let manifest = verified.manifest
        guard let member = manifest.members.first(where: { $0.kind == .database && $0.label == manifest.internalDatabase }) else {
            throw .failure(ArchiveReader.refused(path, "it holds no dump of its internal database \(manifest.internalDatabase)"))
        }
        let password = config.storedDatabasePassword()
        if let password { logger.redact(password) }
        let tools = ClientTools(binaries: binaries, host: config.database.host!, port: config.database.port, user: config.database.user,
                                password: password, sslMode: config.database.sslMode, searchPath: config.environment["PATH"])
        let countFile = staging + "/count"
        try runTool(tools.query("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p','v','m','S') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg\\_%'",
                                database: config.database.name, into: countFile), what: "looking into \(config.database.name)")
        let count = Int((readTextFile(countFile) ?? "").trimmingCharacters(in: "\0\n ")) ?? -1
        guard count == 0 else {
            throw .failure(Failure(ExitCode.volumeUnusable, "restore: the database \(config.database.name) on \(config.database.host!):\(config.database.port) is not empty (\(count) tables, views or sequences); restore writes only into an empty database and changed nothing; create a new one (CREATE DATABASE ... OWNER \(config.database.user)) and set POSTGRES_DB to it"))
        }
        let uploads = manifest.members.filter { $0.kind == .media }
        let occupied = uploads.isEmpty ? [] : MediaTree.isOccupied(data: config.dataDirectory)
        guard occupied.isEmpty else {
            throw .failure(Failure(ExitCode.volumeUnusable, "restore: \(config.mediaDirectory) is not empty (\(occupied.joined(separator: ", "))) and the backup holds \(uploads.count) upload(s) for it; restore changed nothing; move it away (mv \(config.mediaDirectory) \(config.mediaDirectory).before-restore) or use a new volume"))
        }
        do throws(Failure) {
            let store = SecretStore(directory: config.secretsDirectory, owner: appUser)
            if let key = verified.secrets["secret_key"] { try store.persist("secret_key", value: key) }
        } catch {
            throw .failure(error)
        }
        logger.info("restore: restoring database \(manifest.internalDatabase) into \(config.database.name)")
        try runTool(tools.spec("pg_restore", ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                                              "--dbname=" + ClientTools.conninfoDatabase(config.database.name), verified.files[member.name]!],
                               database: config.database.name, source: "pg_restore"), what: "restoring \(config.database.name)")
        if !uploads.isEmpty {
            // After the database: a failed pg_restore (one transaction) leaves media/ as it was.
            do throws(Failure) {
                try MediaTree.build(uploads.map { ($0.label!, verified.files[$0.name]!) }, data: config.dataDirectory, owner: appUser)
                try MediaTree.place(data: config.dataDirectory)
                MediaTree.finish(data: config.dataDirectory)
            } catch {
                throw .failure(error)
            }
        }
        if let warning = verified.keyConflictWarning(config) { logger.warning(warning) }
        return "the internal database \(manifest.internalDatabase) restored into \(config.database.name) on \(config.database.host!):\(config.database.port), \(uploads.count) upload\(uploads.count == 1 ? "" : "s") and SECRET_KEY, in \(formatDuration(Instant.now().seconds(since: start))); start the container as usual"
    }

    private func runTool(_ spec: ProcessSpec, what: String) throws(Interruption) {
        let result = try supervisor.runTask(spec)
        guard result.status.succeeded else {
            let lines = result.lines.suffix(8).map { "  " + $0 }.joined(separator: "\n")
            throw .failure(Failure(ExitCode.databaseUnavailable, "restore: \(spec.source) \(result.status) while \(what); the database was left as it was. Its last lines:\n\(lines)"))
        }
    }
}

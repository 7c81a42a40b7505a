import Glibc

/// `restore PATH` into the bundled cluster of an empty volume. Never half a
/// cluster: the new one is made in PGDATA's temporary sibling (the one a first
/// boot uses, which every boot removes when it finds it), the archive is
/// unpacked and checked there, the server is started on it privately (no TCP),
/// roles and databases restored, the server stopped cleanly; only then are the
/// secrets written and the cluster renamed into place. A kill or a full disk
/// at any step before that rename leaves PGDATA as empty as it was.
public final class RestoreRun {
    let config: Configuration
    let supervisor: Supervisor
    let isRoot = geteuid() == 0
    var logger: Logger { supervisor.logger }

    public init(config: Configuration, supervisor: Supervisor) {
        self.config = config
        self.supervisor = supervisor
    }

    public func run(path: String) throws(Interruption) -> String {
        let start = Instant.now()
        var serverUser: UserIdentity?
        var appUser: UserIdentity?
        let lock: VolumeLock
        let binaries: ServerBinaries
        do throws(Failure) {
            if isRoot {
                guard case .success(let user) = UserDatabase.lookupOnSystem("postgres") else {
                    throw Failure(ExitCode.configuration, "the bundled PostgreSQL must run as the OS user postgres, which does not exist; install the postgresql package or run as a non-root user")
                }
                serverUser = user
                if let name = config.appUser {
                    guard case .success(let user) = UserDatabase.lookupOnSystem(name) else {
                        throw Failure(ExitCode.configuration, "MATHESAR_APP_USER=\"\(ConfigurationProblem.printable(name))\": no such user; the restored secrets must belong to the app's account")
                    }
                    appUser = user
                }
            }
            switch ServerBinaries.locate(configured: config.pgBinDirectory, searchPath: config.environment["PATH"]) {
            case .success(let found): binaries = found
            case .failure(let failure): throw failure
            }
            guard FileIO.exists(path), !FileIO.isDirectory(path) else {
                throw Failure(ExitCode.usage, "restore: \(path) is not a file; give the path of an archive that mathesar-init backup wrote")
            }
            try DataVolume.prepare(config.dataDirectory)
            lock = try VolumeLock.acquire(path: config.lockPath)
            let leftovers = MediaTree.removeLeftovers(data: config.dataDirectory, clusterInPlace: FileIO.exists(config.pgdata + "/PG_VERSION"))
            if !leftovers.isEmpty { logger.warning("restore: removed what an interrupted restore left: \(leftovers.joined(separator: ", "))") }
            switch ClusterDirectory.classify(config.pgdata) {
            case .empty: break
            case .cluster(let major):
                throw Failure(ExitCode.volumeUnusable, "restore: \(config.pgdata) already holds a PostgreSQL \(major) cluster; restore writes only into an empty volume and changed nothing. Restore into a new volume, or move the cluster away first (mv \(config.pgdata) \(config.pgdata).before-restore)")
            case .foreign(let entries):
                throw Failure(ExitCode.volumeUnusable, "restore: \(config.pgdata) is not empty (\(entries.prefix(3).joined(separator: ", "))) and not a cluster; restore changed nothing; empty it or use a new volume")
            case .notADirectory:
                throw Failure(ExitCode.volumeUnusable, "restore: \(config.pgdata) is not a directory; move it away")
            case .unreadable(let reason):
                throw Failure(ExitCode.volumeUnusable, "restore: cannot read \(config.pgdata): \(reason)")
            }
        } catch {
            throw .failure(error)
        }
        _ = lock
        let major: Int
        switch try binaries.majorVersion(tasks: supervisor, user: serverUser) {
        case .success(let found): major = found
        case .failure(let failure): throw .failure(failure)
        }
        let server = BundledServer(pgdata: config.pgdata, binaries: binaries, serverUser: serverUser, runDirectory: config.runDirectory,
                                   port: config.database.port, searchPath: config.environment["PATH"])
        let removed = server.removeInitLeftovers()
        if !removed.isEmpty { logger.warning("restore: removed what an interrupted restore or first boot left: \(removed.joined(separator: ", "))") }
        let target: String
        do throws(Failure) {
            target = try server.prepareInitDirectory()
        } catch {
            throw .failure(error)
        }
        var finished = false
        defer { if !finished { FileSystem.removeTree(target) } }

        let initdb = try supervisor.runTask(server.initdbSpec(target: target))
        guard initdb.status.succeeded else {
            throw .failure(Failure(ExitCode.volumeUnusable, "restore: initdb \(initdb.status); nothing was changed. Its last lines:\n  " + initdb.lines.suffix(8).joined(separator: "\n  ")))
        }
        let staging = target + "/mathesar-restore"
        let verified: ArchiveReader.Verified
        do throws(Failure) {
            guard mkdir(staging, 0o700) == 0 else { throw Failure(ExitCode.volumeUnusable, "restore: cannot create \(staging): \(lastErrnoText())") }
            verified = try ArchiveReader.unpack(path, into: staging)
        } catch {
            throw .failure(error)
        }
        let manifest = verified.manifest
        for secret in verified.secrets.values { logger.redact(secret) }
        logger.info("restore: \(path) is complete and matches its manifest (\(BackupRun.size(verified.bytes)), made \(manifest.created) from PostgreSQL \(manifest.serverMajor))")
        guard manifest.mode == .bundled else {
            throw .failure(Failure(ArchiveReader.dataError, "restore: \(path) was made in external mode (POSTGRES_HOST set) and holds only the internal database \(manifest.internalDatabase); restore it with the same POSTGRES_HOST settings, so that it goes back into that server; nothing was changed"))
        }
        guard manifest.serverMajor <= major else {
            throw .failure(Failure(ExitCode.volumeUnusable, "restore: \(path) comes from PostgreSQL \(manifest.serverMajor), newer than this image's \(major); restore it with an image that bundles PostgreSQL \(manifest.serverMajor) or newer; nothing was changed"))
        }
        let memberFile = { (member: BackupManifest.Member) in verified.files[member.name]! }
        // Uploads go only into an empty media/ (refused now, before the server starts).
        let uploads = manifest.members.filter { $0.kind == .media }
        let occupied = uploads.isEmpty ? [] : MediaTree.isOccupied(data: config.dataDirectory)
        guard occupied.isEmpty else {
            throw .failure(Failure(ExitCode.volumeUnusable, "restore: \(config.mediaDirectory) is not empty (\(occupied.joined(separator: ", "))) and the backup holds \(uploads.count) upload(s) for it; restore changed nothing; move it away (mv \(config.mediaDirectory) \(config.mediaDirectory).before-restore) or use a new volume"))
        }

        // The server on the new cluster: socket only, in the run directory we hold the lock for.
        let privateServer = BundledServer(pgdata: target, binaries: binaries, serverUser: serverUser, runDirectory: config.runDirectory,
                                          port: config.database.port, searchPath: config.environment["PATH"])
        let postmaster: pid_t
        do throws(Failure) {
            try DataVolume.makeDirectories(config.runDirectory, mode: 0o755)
            try privateServer.prepareSocketDirectory()
            supervisor.setLauncher(.postgres) { () throws(Failure) in
                var spec = privateServer.serverSpec()
                // No TCP; and no fsync: finishInit flushes the whole filesystem
                // before the rename, and a cluster that crashes before it is discarded.
                spec.arguments += ["-c", "listen_addresses=", "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off"]
                return spec
            }
            postmaster = try supervisor.start(.postgres)
        } catch {
            throw .failure(error)
        }
        let helper = DatabaseHelper(path: SelfExecutable.databaseHelperPath(), config: config, secrets: ResolvedSecrets(secretKey: "", databasePassword: nil),
                                    socketDirectory: privateServer.socketDirectory)
        let ready = try supervisor.runTask(helper.spec(.serverReady, extra: ["PGDATA": target, DatabaseHelper.Variable.postmasterPID: String(postmaster)]))
        guard ready.status.succeeded else {
            throw .failure(Failure(ExitCode.databaseUnavailable, "restore: the new cluster's server did not become ready (\(ready.status)); nothing was changed"))
        }
        let tools = ClientTools.bundled(binaries: binaries, socketDirectory: privateServer.socketDirectory, port: config.database.port,
                                        searchPath: config.environment["PATH"])
        var databases: [String] = []
        for member in manifest.members where member.kind == .roles {
            let filtered = staging + "/roles-filtered.sql"
            do throws(Failure) { try Self.dropBootstrapRole(from: memberFile(member), to: filtered) } catch { throw .failure(error) }
            try runTool(tools.spec("psql", ["--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--file=\(filtered)"], database: "postgres", source: "psql"),
                        what: "restoring the roles")
        }
        for member in manifest.members where member.kind == .database {
            let began = Instant.now()
            let name = member.label!
            logger.info("restore: restoring database \(name)")
            try runTool(tools.spec("pg_restore", ["--create", "--clean", "--if-exists", "--exit-on-error", "--dbname=template1", memberFile(member)],
                                   database: "template1", source: "pg_restore"), what: "restoring the database \(name)")
            logger.info("restore: database \(name) restored in \(formatDuration(Instant.now().seconds(since: began)))")
            databases.append(name)
        }
        // A clean stop: the cluster starts without recovery at the first boot.
        _ = supervisor.stopAll(code: 0)
        guard !FileIO.exists(target + "/postmaster.pid") else {
            throw .failure(Failure(ExitCode.internalError, "restore: the new cluster's server did not shut down cleanly; nothing was changed"))
        }
        do throws(Failure) {
            // The uploads, built in a private sibling from the unpacked files.
            if !uploads.isEmpty {
                try MediaTree.build(uploads.map { ($0.label!, memberFile($0)) }, data: config.dataDirectory, owner: appUser)
            }
        } catch {
            throw .failure(error)
        }
        FileSystem.removeTree(staging)
        do throws(Failure) {
            // media/ and the secrets before the rename: a kill before it leaves
            // an empty PGDATA (restore again: it removes that media/, marked
            // pending), never a cluster whose key or uploads are missing.
            if !uploads.isEmpty { try MediaTree.place(data: config.dataDirectory) }
            let store = SecretStore(directory: config.secretsDirectory, owner: appUser)
            for (name, value) in verified.secrets.sorted(by: { $0.key < $1.key }) { try store.persist(name, value: value) }
            if let warning = verified.keyConflictWarning(config) { logger.warning(warning) }
            try server.finishInit(target: target)
            finished = true
            if !uploads.isEmpty { MediaTree.finish(data: config.dataDirectory) }
        } catch {
            throw .failure(error)
        }
        return "\(databases.count) database\(databases.count == 1 ? "" : "s") (\(databases.joined(separator: ", "))), \(uploads.count) upload\(uploads.count == 1 ? "" : "s"), the roles and \(verified.secrets.count) secret\(verified.secrets.count == 1 ? "" : "s") restored into \(config.pgdata) (PostgreSQL \(major)) in \(formatDuration(Instant.now().seconds(since: start))); start the container as usual"
    }

    private func runTool(_ spec: ProcessSpec, what: String) throws(Interruption) {
        let result = try supervisor.runTask(spec)
        guard result.status.succeeded else {
            let lines = result.lines.suffix(8).map { "  " + $0 }.joined(separator: "\n")
            throw .failure(Failure(ExitCode.databaseUnavailable, "restore: \(spec.source) \(result.status) while \(what); nothing was changed. Its last lines:\n\(lines)"))
        }
    }

    /// initdb made the bootstrap superuser already: its CREATE ROLE would fail.
    static func dropBootstrapRole(from source: String, to destination: String) throws(Failure) {
        guard case .success(let bytes) = FileIO.read(source, limit: 256 << 20) else { throw Failure(ExitCode.internalError, "restore: cannot read the unpacked roles") }
        let skip = "CREATE ROLE \(BundledServer.superuser);"
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).filter { $0 != skip }
        if let problem = AtomicFile.write(path: destination, contents: Array(lines.joined(separator: "\n").utf8), mode: 0o600, durable: false) {
            throw Failure(ExitCode.volumeUnusable, "restore: \(problem)")
        }
    }
}

/// `mathesar-init restore PATH`.
public enum RestoreCommand {
    public static func execute(path requested: String) -> Int32 {
        let path = requested.hasPrefix("/") ? requested : BackupCommand.currentDirectory() + "/" + requested
        return CommandContext.run { context in
            let (config, supervisor) = (context.config, context.supervisor)
            do throws(Interruption) {
                let summary = config.database.mode == .bundled
                    ? try RestoreRun(config: config, supervisor: supervisor).run(path: path)
                    : try ExternalRestore(config: config, supervisor: supervisor).run(path: path)
                context.logger.info("restore: \(summary)")
                return 0
            } catch {
                return supervisor.shutdown(after: error)
            }
        }
    }
}

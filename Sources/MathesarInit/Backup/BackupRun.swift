import Glibc

/// Where `backup` writes: a file (made under a temporary name beside it and
/// renamed when complete, so that a file of that name is always a whole
/// archive) or a descriptor (standard output).
public enum BackupOutput: Equatable {
    case file(String)
    case descriptor(Int32)
}

/// One backup: each database dumped by `pg_dump` (one consistent snapshot
/// per database: a repeatable-read transaction, so a transaction committed
/// during the backup is in it whole or not at all), the roles by
/// `pg_dumpall --roles-only` (bundled), into a private staging directory in
/// the volume; then the archive, assembled from those files, the secrets and
/// the manifest. The server is running already (the live container's, or one
/// started privately); this only runs client programs against it.
public struct BackupRun {
    let supervisor: Supervisor
    let tools: ClientTools
    let config: Configuration
    /// The files of `secrets/` the app needs (name, value).
    let secrets: [(name: String, value: String)]
    var logger: Logger { supervisor.logger }

    public init(supervisor: Supervisor, tools: ClientTools, config: Configuration, secrets: [(name: String, value: String)]) {
        self.supervisor = supervisor
        self.tools = tools
        self.config = config
        self.secrets = secrets
    }

    public var backupsDirectory: String { config.dataDirectory + "/backups" }

    /// The contract's default name: `backups/mathesar-YYYYmmddTHHMMSSZ.tar`.
    public func defaultPath() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        func pad(_ v: Int32, _ w: Int) -> String { String(repeating: "0", count: max(0, w - String(v).count)) + String(v) }
        let stamp = "\(pad(parts.tm_year + 1900, 4))\(pad(parts.tm_mon + 1, 2))\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2))\(pad(parts.tm_min, 2))\(pad(parts.tm_sec, 2))Z"
        return backupsDirectory + "/mathesar-\(stamp).tar"
    }

    public func run(_ output: BackupOutput) throws(Interruption) -> String {
        let start = Instant.now()
        let staging: String
        do throws(Failure) {
            try DataVolume.makeDirectories(config.dataDirectory, mode: 0o755)
            try DataVolume.ownedDirectory(backupsDirectory, mode: 0o700, owner: nil)
            staging = try Self.makePrivateDirectory(in: backupsDirectory, prefix: ".incomplete-")
        } catch {
            throw .failure(error)
        }
        defer { FileSystem.removeTree(staging) }

        let versionFile = staging + "/version"
        try runTool(tools.query("SELECT current_setting('server_version_num')", database: "postgres".ifBundled(config, else: config.database.name), into: versionFile), what: "asking the server's version")
        guard let versionText = readTextFile(versionFile), let versionNumber = Int(versionText.trimmingCharacters(in: "\0\n ")) else {
            throw .failure(Failure(ExitCode.databaseUnavailable, "the server did not say its version (server_version_num)"))
        }
        let databases: [String]
        if config.database.mode == .bundled {
            let listFile = staging + "/databases"
            try runTool(tools.query("SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname", database: "postgres", into: listFile), what: "listing the databases")
            databases = (readTextFile(listFile) ?? "").split(separator: "\0").map(String.init).map { $0.trimmingCharacters(in: "\n") }.filter { !$0.isEmpty }
        } else {
            databases = [config.database.name]
        }
        var files: [(name: String, kind: BackupManifest.Kind, label: String?, path: String)] = []
        if config.database.mode == .bundled {
            let roles = staging + "/roles.sql"
            try runTool(tools.spec("pg_dumpall", ["--roles-only", "--no-comments", "--file=\(roles)"], database: "postgres", source: "pg_dumpall"), what: "dumping the roles")
            files.append(("roles.sql", .roles, nil, roles))
        }
        for (index, database) in databases.enumerated() {
            let began = Instant.now()
            let file = staging + "/\(index + 1).dump"
            try runTool(tools.spec("pg_dump", ["--format=custom", "--file=\(file)"], database: database, source: "pg_dump"),
                        what: "dumping the database \(database)")
            logger.info("backup: dumped database \(database) (\(Self.size(FileSystem.fileSize(file)))) in \(formatDuration(Instant.now().seconds(since: began)))")
            files.append(("databases/\(index + 1).dump", .database, database, file))
        }

        var partial: String?
        var outputDirectory: (directory: OutputDirectory, name: String)?
        defer { outputDirectory?.directory.close() }
        let fd: Int32
        let destination: String
        switch output {
        case .descriptor(let out):
            fd = out
            destination = "standard output"
        case .file(let path):
            destination = path
            do throws(Failure) {
                outputDirectory = try OutputDirectory.open(for: path, volume: config.dataDirectory)
            } catch {
                throw .failure(error)
            }
            let name = path + ".partial"
            let created = outputDirectory!.directory.create(outputDirectory!.name + ".partial")
            guard created >= 0 else {
                throw .failure(Failure(ExitCode.volumeUnusable, "cannot create \(name): \(lastErrnoText())\(errno == EEXIST ? " (left by an interrupted backup? remove it)" : "")"))
            }
            fchmod(created, 0o600)
            fd = created
            partial = name
        }
        do throws(Failure) {
            let writer = ArchiveWriter(fd: fd, destination: destination)
            for file in files { try writer.add(name: file.name, kind: file.kind, label: file.label, file: file.path) }
            let uploads = try addUploads(to: writer)
            for secret in secrets {
                try writer.add(name: "secrets/\(secret.name)", kind: .secret, label: secret.name, bytes: Array((secret.value + "\n").utf8))
            }
            let manifest = BackupManifest(created: WallClock.timestamp(), mode: config.database.mode, serverVersionNumber: versionNumber,
                                          internalDatabase: config.database.name, role: config.database.user, members: writer.members)
            try writer.addUnlisted(name: BackupManifest.memberName, bytes: Array(manifest.encoded().utf8))
            try writer.finish()
            if let partial, case .file(let path) = output {
                guard fsync(fd) == 0 else { throw Failure(ExitCode.volumeUnusable, "cannot flush \(partial) to disk: \(lastErrnoText())") }
                let (directory, base) = outputDirectory!
                let rc = directory.renameNoReplace(base + ".partial", base)
                guard rc == 0 else {
                    throw Failure(ExitCode.volumeUnusable, "cannot rename \(partial) to \(path): \(errnoText(rc))\(rc == EEXIST ? " (it exists; choose another --output or remove it)" : "")")
                }
                close(fd)
                _ = fsync(directory.fd)
            }
            let summary = "\(databases.count) database\(databases.count == 1 ? "" : "s") (\(databases.joined(separator: ", ")))\(config.database.mode == .bundled ? ", the roles" : ""), \(uploads.count) upload\(uploads.count == 1 ? "" : "s") (\(Self.size(uploads.bytes))), \(secrets.count) secret\(secrets.count == 1 ? "" : "s"); \(Self.size(writer.written)) written to \(destination) in \(formatDuration(Instant.now().seconds(since: start)))"
            return summary
        } catch {
            if partial != nil, let out = outputDirectory {
                close(fd)
                unlinkat(out.directory.fd, out.name + ".partial", 0)
            }
            throw .failure(error)
        }
    }

    /// The uploads in media/, read through descriptors (MediaTree): each
    /// regular file as `media/N`; what is left out is named in a warning.
    private func addUploads(to writer: ArchiveWriter) throws(Failure) -> (count: Int, bytes: UInt64) {
        let media = config.mediaDirectory
        let root = config.app.mediaRoot
        if root.trimmingCharacters(in: "/") != media.trimmingCharacters(in: "/") {
            logger.warning("backup: MEDIA_ROOT=\(root) is outside the volume; the uploads there are not in this backup (only \(media) is); back that directory up yourself")
        }
        var count = 0
        var bytes: UInt64 = 0
        let skipped = try MediaTree.walk(media) { (path: String, fd: Int32) throws(Failure) in
            count += 1
            try writer.add(name: "media/\(count)", kind: .media, label: path, descriptor: fd, file: "\(media)/\(path)")
            bytes += writer.members.last!.size
        }
        for entry in skipped {
            logger.warning("backup: left out \(entry.path.hasPrefix("/") ? entry.path : media + "/" + entry.path): \(entry.why)")
        }
        return (count, bytes)
    }

    private func runTool(_ spec: ProcessSpec, what: String) throws(Interruption) {
        let result = try supervisor.runTask(spec)
        guard result.status.succeeded else {
            let lines = result.lines.suffix(8).map { "  " + $0 }.joined(separator: "\n")
            throw .failure(Failure(ExitCode.databaseUnavailable, "backup: \(spec.source) \(result.status) while \(what); nothing was written. Its last lines:\n\(lines)"))
        }
    }

    /// A new directory only this process's account can enter, named with a random suffix.
    static func makePrivateDirectory(in parent: String, prefix: String) throws(Failure) -> String {
        for _ in 0..<16 {
            guard let suffix = AtomicFile.randomSuffix() else { break }
            let path = parent + "/" + prefix + suffix
            if mkdir(path, 0o700) == 0 { return path }
            if errno != EEXIST { throw Failure(ExitCode.volumeUnusable, "cannot create \(path): \(lastErrnoText())") }
        }
        throw Failure(ExitCode.internalError, "cannot name a temporary directory in \(parent)")
    }

    static func size(_ bytes: UInt64) -> String {
        if bytes < 1024 { return "\(bytes) B" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes) / 1024
        var unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return "\(Double(Int(value * 10)) / 10) \(units[unit])"
    }
}

extension String {
    func ifBundled(_ config: Configuration, else other: String) -> String { config.database.mode == .bundled ? self : other }

    /// Without the given characters at either end.
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = self[...]
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

extension FileSystem {
    /// A file's size in bytes (0 when it cannot be read).
    static func fileSize(_ path: String) -> UInt64 {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_size) : 0
    }
}

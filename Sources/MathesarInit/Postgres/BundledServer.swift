import Glibc

/// The bundled PostgreSQL's files and processes: first-boot initialization
/// that never leaves a half-made cluster in `PGDATA`, ownership, the socket
/// directory, and the server's command line. Runs nothing itself; the boot
/// sequence runs the specs it returns.
public struct BundledServer {
    public let pgdata: String
    public let binaries: ServerBinaries
    /// The `postgres` account when PID 1 is root; nil runs as the current user.
    public let serverUser: UserIdentity?
    public let socketDirectory: String
    public let port: Int
    public let searchPath: String
    /// PID 1's uid has no passwd entry: PostgreSQL's programs get one (see `UnknownUser`).
    public let unknownUser: UnknownUser?

    public init(pgdata: String, binaries: ServerBinaries, serverUser: UserIdentity?, runDirectory: String, port: Int, searchPath: String?) {
        self.pgdata = pgdata
        self.binaries = binaries
        self.serverUser = serverUser
        self.socketDirectory = runDirectory + "/postgresql"
        self.port = port
        self.searchPath = searchPath ?? CommandResolver.defaultSearchPath
        // A missing library is reported by the boot's inspection (`UnknownUser.detect`).
        self.unknownUser = serverUser == nil ? ((try? UnknownUser.detect(runDirectory: runDirectory).get()) ?? nil) : nil
    }

    /// The bootstrap superuser; reachable only over the private socket.
    public static let superuser = "postgres"

    /// Where initdb works before its result is renamed into place.
    public var siblingInitDirectory: String { pgdata + ".initdb-incomplete" }
    var nestedInitDirectory: String { pgdata + "/" + ClusterDirectory.nestedInitName }

    /// Removes what an interrupted first boot left behind; returns what it removed.
    public func removeInitLeftovers() -> [String] {
        var removed: [String] = []
        if FileIO.exists(siblingInitDirectory), FileSystem.removeTree(siblingInitDirectory) {
            removed.append(siblingInitDirectory)
        }
        if FileIO.exists(nestedInitDirectory) {
            if FileIO.exists(pgdata + "/PG_VERSION") {
                // Interrupted after PG_VERSION, the last entry, was moved up: only the empty shell is left.
                if FileSystem.removeTree(nestedInitDirectory) { removed.append(nestedInitDirectory) }
            } else {
                // Interrupted while moving entries up: everything but lost+found is ours.
                for name in FileIO.list(pgdata) ?? [] where name != "lost+found" {
                    if FileSystem.removeTree(pgdata + "/" + name) { removed.append(pgdata + "/" + name) }
                }
            }
        }
        return removed
    }

    /// Creates the directory initdb fills, owned by the server's account.
    /// A mount-point PGDATA cannot be replaced by a rename, so there initdb
    /// works in a hidden subdirectory whose entries are moved up afterwards.
    public func prepareInitDirectory() throws(Failure) -> String {
        let mountPoint = FileIO.isDirectory(pgdata) && ClusterDirectory.isMountPoint(pgdata)
        let target = mountPoint ? nestedInitDirectory : siblingInitDirectory
        if mountPoint { try giveToServer(pgdata, mode: 0o700) }
        if mkdir(target, 0o700) != 0 {
            throw Failure(ExitCode.volumeUnusable, "cannot create \(target): \(lastErrnoText()); \(DataVolume.writableAdvice(AtomicFile.parentDirectory(of: target)))")
        }
        try giveToServer(target, mode: 0o700)
        return target
    }

    /// initdb without its own per-file fsync: `finishInit` flushes the whole
    /// filesystem once, before the rename that makes the cluster visible.
    public func initdbSpec(target: String) -> ProcessSpec {
        var arguments = [binaries.path("initdb"), "--pgdata=\(target)", "--username=\(BundledServer.superuser)",
                         "--encoding=UTF8", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"]
        arguments.append(FileIO.exists("/usr/lib/locale/C.utf8") || FileIO.exists("/usr/lib/locale/C.UTF-8") ? "--locale=C.UTF-8" : "--locale=C")
        // Its chatter is kept for the error message, not logged: a success is one line of ours.
        return ProcessSpec(source: "initdb", executable: binaries.path("initdb"), arguments: arguments,
                           environment: serverEnvironment(), user: serverUser, workingDirectory: "/", output: .captured)
    }

    /// Makes the new cluster durable, then visible under PGDATA in one rename
    /// (or, for a mount point, by moving entries up with PG_VERSION last).
    public func finishInit(target: String) throws(Failure) {
        guard FileSystem.syncFilesystem(of: target) else {
            throw Failure(ExitCode.volumeUnusable, "cannot flush the new cluster in \(target) to disk: \(lastErrnoText())")
        }
        if target == siblingInitDirectory {
            // rename() replaces an empty directory atomically; an empty lost+found would block it.
            if FileIO.list(pgdata) == ["lost+found"] { rmdir(pgdata + "/lost+found") }
            if rename(target, pgdata) != 0 {
                throw Failure(ExitCode.volumeUnusable, "cannot move the new cluster from \(target) to \(pgdata): \(lastErrnoText()); remove \(pgdata) if it is empty and retry")
            }
            AtomicFile.syncDirectory(AtomicFile.parentDirectory(of: pgdata))
            return
        }
        let entries = (FileIO.list(target) ?? []).filter { $0 != "PG_VERSION" } + ["PG_VERSION"]
        for name in entries where rename(target + "/" + name, pgdata + "/" + name) != 0 {
            throw Failure(ExitCode.volumeUnusable, "cannot move \(target)/\(name) into \(pgdata): \(lastErrnoText())")
        }
        AtomicFile.syncDirectory(pgdata)
        rmdir(target)
        AtomicFile.syncDirectory(pgdata)
    }

    /// PostgreSQL refuses a data directory that is not its own with mode 0700
    /// (0750 allowed). Only the top is checked on every boot; the tree is
    /// walked only when the top is wrong (a changed uid), and then only
    /// entries that differ are changed, unlike a recursive chown every boot.
    public func fixOwnership() throws(Failure) -> Int {
        var st = stat()
        guard stat(pgdata, &st) == 0 else { return 0 }
        var changed = 0
        if geteuid() == 0, let user = serverUser, st.st_uid != user.uid {
            changed = FileSystem.chownTree(pgdata, uid: user.uid, gid: user.gid)
        }
        let mode = st.st_mode & 0o777
        if mode != 0o700 && mode != 0o750 {
            if chmod(pgdata, 0o700) != 0 {
                throw Failure(ExitCode.volumeUnusable, "cannot set mode 0700 on \(pgdata): \(lastErrnoText())")
            }
            changed += 1
        }
        return changed
    }

    /// `$MATHESAR_RUN_DIR/postgresql`: the server's socket and lock, 0700 so
    /// that only the server's account and root can reach the trust socket.
    public func prepareSocketDirectory() throws(Failure) {
        try DataVolume.ownedDirectory(socketDirectory, mode: 0o700, owner: serverUser)
    }

    /// A postmaster.pid PostgreSQL would refuse to start with although no
    /// server runs: empty (the server was killed between creating and
    /// writing it), or naming a pid that now belongs to another live process
    /// (pids are reused in a new PID namespace). Holding the volume lock, we
    /// know no other mathesar-init starts a server here, so remove it then. A
    /// real postmaster on this directory is an error; a dead pid is left to
    /// PostgreSQL's own stale-lock handling. Returns why it removed the file.
    public func clearStalePidFile(liveChildren: [pid_t]) throws(Failure) -> String? {
        let file = pgdata + "/postmaster.pid"
        guard let text = readTextFile(file) else { return nil }
        guard let first = text.split(separator: "\n").first, let pid = pid_t(String(first).trimmingSpaces()), pid > 0 else {
            return unlink(file) == 0 ? "it was empty or unreadable (the server was killed while starting)" : nil
        }
        guard pid != getpid(), ProcessProbe.exists(pid), !liveChildren.contains(pid) else { return nil }
        if BundledServer.isPostmaster(pid: pid, dataDirectory: pgdata) {
            throw Failure(ExitCode.volumeUnusable, "PostgreSQL (pid \(pid)) is already running on \(pgdata), started by something other than this mathesar-init; stop it first")
        }
        return unlink(file) == 0 ? "its pid \(pid) belongs to another process now (left by an unclean stop)" : nil
    }

    static func isPostmaster(pid: pid_t, dataDirectory: String) -> Bool {
        guard let process = ProcessProbe.workingDirectoryAndCommand(pid) else { return false }
        return process.cwd == dataDirectory && process.command.hasPrefix("postgres")
    }

    /// The server as a direct child: socket in the run directory, TCP on
    /// 127.0.0.1 only, logs on stderr. Settings go on the command line so
    /// that postgresql.conf stays the user's.
    public func serverSpec() -> ProcessSpec {
        let settings = [
            "listen_addresses=127.0.0.1",
            "port=\(port)",
            "unix_socket_directories=\(socketDirectory)",
            "unix_socket_permissions=0700",
            "logging_collector=off",
            "log_destination=stderr",
        ]
        let arguments = [binaries.path("postgres"), "-D", pgdata] + settings.flatMap { ["-c", $0] }
        return ProcessSpec(source: "postgres", executable: binaries.path("postgres"), arguments: arguments,
                           environment: serverEnvironment(), user: serverUser, workingDirectory: "/")
    }

    /// A clean environment: the user's PG* variables must not steer the server or initdb.
    func serverEnvironment() -> [String: String] {
        var environment = ["PATH": searchPath, "LANG": "C.UTF-8"]
        if let user = serverUser { environment["HOME"] = user.home }
        if let tz = getenv("TZ") { environment["TZ"] = String(cString: tz) }
        if let unknownUser { environment.merge(unknownUser.environment) { _, wrapper in wrapper } }
        return environment
    }

    private func giveToServer(_ path: String, mode: mode_t) throws(Failure) {
        if geteuid() == 0, let user = serverUser, chown(path, user.uid, user.gid) != 0 {
            throw Failure(ExitCode.volumeUnusable, "cannot give \(path) to \(user.name): \(lastErrnoText())")
        }
        _ = chmod(path, mode)
    }
}

import Glibc

/// What `PGDATA` holds, found by reading only.
public enum ClusterState: Equatable, Sendable {
    /// Missing, empty, or holding only an empty `lost+found`: initialize.
    case empty
    /// A cluster (PG_VERSION present) of this major version.
    case cluster(major: Int)
    /// Not empty and not a cluster: refuse, touch nothing.
    case foreign(entries: [String])
    /// PGDATA exists but is not a directory.
    case notADirectory
    /// PGDATA cannot be read, so nothing can be decided: refuse, touch nothing.
    case unreadable(reason: String)
}

/// Reads `PGDATA` to decide what boot must do with it.
public enum ClusterDirectory {
    /// Entries our own interrupted first boot may leave inside a mount-point PGDATA.
    static let nestedInitName = ".mathesar-initdb"

    public static func classify(_ pgdata: String) -> ClusterState {
        var st = stat()
        guard stat(pgdata, &st) == 0 else {
            return errno == ENOENT ? .empty : .unreadable(reason: lastErrnoText())
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return .notADirectory }
        switch FileIO.read(pgdata + "/PG_VERSION", limit: 64) {
        case .success(let bytes):
            if let major = parseVersionFile(String(decoding: bytes, as: UTF8.self)) { return .cluster(major: major) }
        case .failure(.missing):
            break
        case .failure(let why):
            return .unreadable(reason: "PG_VERSION: \(why)")
        }
        guard let listed = FileIO.list(pgdata) else { return .unreadable(reason: lastErrnoText()) }
        let entries = listed.filter { $0 != nestedInitName }
        if entries.isEmpty { return .empty }
        if entries == ["lost+found"], (FileIO.list(pgdata + "/lost+found") ?? ["?"]).isEmpty { return .empty }
        return .foreign(entries: entries)
    }

    /// What boot will do with PGDATA.
    public enum Plan: Equatable, Sendable {
        case initialize
        case use
        case upgrade(from: Int)
    }

    /// The plan for a PGDATA in `state` under a server of `serverMajor`, or
    /// why boot refuses it (exit 73, nothing changed). Boot and `check` both
    /// ask this, so they say the same thing.
    public static func plan(for state: ClusterState, pgdata: String, serverMajor: Int) -> Result<Plan, Failure> {
        func refuse(_ fact: String, _ fix: String) -> Result<Plan, Failure> {
            .failure(Failure(ExitCode.volumeUnusable, fact + "; nothing was changed. " + fix))
        }
        switch state {
        case .empty:
            return .success(.initialize)
        case .cluster(let found) where found == serverMajor:
            // PGDATA may be a mount of its own: PostgreSQL would only fail to create its lock file.
            var fs = statvfs()
            if statvfs(pgdata, &fs) == 0, fs.f_flag & UInt(ST_RDONLY) != 0 {
                return refuse("PGDATA=\(pgdata) is on a read-only mount", "Mount it read-write")
            }
            return .success(.use)
        case .cluster(let found) where found > serverMajor:
            return refuse("\(pgdata) holds a PostgreSQL \(found) cluster, newer than this server (\(serverMajor))", "Use an image with PostgreSQL \(found) or newer; a cluster cannot be downgraded")
        case .cluster(let found):
            return .success(.upgrade(from: found))
        case .foreign(let entries):
            let shown = entries.prefix(5).joined(separator: ", ") + (entries.count > 5 ? ", ..." : "")
            return refuse("\(pgdata) is not empty and is not a PostgreSQL cluster (it holds: \(shown))", "Point PGDATA at an empty directory or a cluster, or move these files away")
        case .notADirectory:
            return refuse("PGDATA=\(pgdata) exists but is not a directory", "Move it away or set PGDATA elsewhere")
        case .unreadable(let reason):
            return refuse("PGDATA=\(pgdata) cannot be read (\(reason))", "Check its owner and mode, or run as root")
        }
    }

    /// PG_VERSION holds "15" (or "9.6" for old servers, whose major is 9.6 -> 9).
    static func parseVersionFile(_ text: String) -> Int? {
        Int(text.trimmingSpaces().split(separator: "\n").first?.split(separator: ".").first ?? "")
    }

    /// Whether PGDATA is a mount point (cannot be replaced by a rename).
    public static func isMountPoint(_ pgdata: String) -> Bool {
        var own: UInt64 = 0, parent: UInt64 = 0
        return msiDevice(pgdata, &own) && msiDevice(AtomicFile.parentDirectory(of: pgdata), &parent) && own != parent
    }

    /// `pg_controldata`'s "Database cluster state" line value, e.g. "shut down".
    public static func controlState(fromControlData text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("Database cluster state:") {
            return String(line.dropFirst("Database cluster state:".count)).trimmingSpaces()
        }
        return nil
    }
}

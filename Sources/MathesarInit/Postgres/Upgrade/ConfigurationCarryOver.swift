import CSystemShims
import Glibc

/// pg_upgrade moves data, not configuration: the new cluster starts with
/// initdb's files. The old cluster's are copied over before `pg_upgrade
/// --check` (so that its checks and the new server see the same settings,
/// shared_preload_libraries included): authentication always, server settings
/// when the new `postgres` accepts them (`postgres -C` parses them and fails on
/// a parameter the new version removed); else initdb's settings stay, and the
/// old files are kept beside them for the user to merge.
enum ConfigurationCarryOver {
    static let authenticationFiles = ["pg_hba.conf", "pg_ident.conf"]
    static let settingFiles = ["postgresql.conf", "postgresql.auto.conf"]
    static let includeDirectory = "conf.d"

    /// initdb's own setting files, to put back if the old ones are refused.
    struct Originals {
        var files: [String: [UInt8]]
    }

    /// Copies the old configuration into `new`; returns initdb's settings.
    /// Root reads files in a directory `postgres` owns: each is opened
    /// relative to a descriptor without following a link and must be a
    /// regular file with one link, else the upgrade stops naming it (a link
    /// there could make root copy a file `postgres` cannot read into a
    /// cluster `postgres` owns).
    static func copy(from old: String, to new: String, owner: UserIdentity?) throws(Failure) -> Originals {
        var originals = Originals(files: [:])
        for name in settingFiles {
            if case .success(let bytes) = FileIO.read(new + "/" + name) { originals.files[name] = bytes }
        }
        let oldfd = open(old, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard oldfd >= 0 else {
            throw Failure(ExitCode.volumeUnusable, "cannot open the old cluster \(old) to carry its configuration over: \(lastErrnoText())")
        }
        defer { close(oldfd) }
        for name in authenticationFiles + settingFiles {
            if let bytes = try readSource(in: oldfd, name: name, path: old + "/" + name) {
                try write(bytes, to: new + "/" + name, owner: owner)
            }
        }
        let include = old + "/" + includeDirectory
        let includefd = msi_open_directory(oldfd, includeDirectory)
        if includefd < 0 {
            var st = stat()
            if fstatat(oldfd, includeDirectory, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) == S_IFLNK {
                throw Failure(ExitCode.volumeUnusable, "\(include) is a symbolic link; mathesar-init copies the old cluster's configuration as root and does not follow links out of it: replace the link by a directory holding the files (or remove it), then start again")
            }
            return originals
        }
        defer { close(includefd) }
        try DataVolume.ownedDirectory(new + "/" + includeDirectory, mode: 0o700, owner: owner)
        for name in FileIO.list(include) ?? [] {
            var st = stat()
            // Subdirectories and sockets were never copied; a link is refused by readSource.
            guard fstatat(includefd, name, &st, AT_SYMLINK_NOFOLLOW) == 0,
                  (st.st_mode & S_IFMT) == S_IFREG || (st.st_mode & S_IFMT) == S_IFLNK else { continue }
            if let bytes = try readSource(in: includefd, name: name, path: include + "/" + name) {
                try write(bytes, to: new + "/" + includeDirectory + "/" + name, owner: owner)
            }
        }
        return originals
    }

    /// A configuration file of the old cluster, or nil when it does not exist.
    static func readSource(in directory: Int32, name: String, path: String) throws(Failure) -> [UInt8]? {
        switch FileSystem.readPrivateFile(in: directory, name: name, limit: 64 << 20) {
        case .success(let (bytes, fd)):
            close(fd)
            return bytes
        case .failure(.missing):
            return nil
        case .failure(.unreadable(let why)):
            throw Failure(ExitCode.volumeUnusable, "cannot carry \(path) into the upgraded cluster: \(why); mathesar-init copies it as root and takes only a regular file of the cluster's own: replace it with a plain copy (cp --remove-destination) or remove it, then start again")
        case .failure(let why):
            throw Failure(ExitCode.volumeUnusable, "cannot read \(path) to carry it into the upgraded cluster: \(why)")
        }
    }

    /// Puts initdb's settings back and keeps the old ones as `NAME.pgOLD` for reference.
    static func revertSettings(in new: String, oldMajor: Int, originals: Originals, owner: UserIdentity?) throws(Failure) -> [String] {
        var kept: [String] = []
        for name in settingFiles {
            let path = new + "/" + name
            if FileIO.exists(path) {
                let keptPath = "\(path).pg\(oldMajor)"
                if rename(path, keptPath) == 0 { kept.append(keptPath) }
            }
            if let bytes = originals.files[name] { try write(bytes, to: path, owner: owner) }
        }
        let include = new + "/" + includeDirectory
        if FileIO.isDirectory(include) {
            let keptPath = "\(include).pg\(oldMajor)"
            FileSystem.removeTree(keptPath)
            if rename(include, keptPath) == 0 { kept.append(keptPath) }
        }
        return kept
    }

    /// `postgres -D DIR -C config_file`: reads every setting file, fails on one the server refuses.
    static func validationSpec(binaries: ServerBinaries, directory: String, user: UserIdentity?, environment: [String: String]) -> ProcessSpec {
        let postgres = binaries.path("postgres")
        return ProcessSpec(source: "postgres", executable: postgres, arguments: [postgres, "-D", directory, "-C", "config_file"],
                           environment: environment, user: user, workingDirectory: "/", output: .captured)
    }

    static func copyFile(_ from: String, to: String, owner: UserIdentity?) throws(Failure) {
        switch FileIO.read(from, limit: 64 << 20) {
        case .success(let bytes): try write(bytes, to: to, owner: owner)
        case .failure(let why): throw Failure(ExitCode.volumeUnusable, "cannot read \(from) to carry it into the upgraded cluster: \(why)")
        }
    }

    static func write(_ bytes: [UInt8], to path: String, owner: UserIdentity?) throws(Failure) {
        let ids = geteuid() == 0 ? owner.map { (uid: $0.uid, gid: $0.gid) } : nil
        if let problem = AtomicFile.write(path: path, contents: bytes, mode: 0o600, durable: false, owner: ids) {
            throw Failure(ExitCode.volumeUnusable, problem)
        }
    }
}

extension FileIO {
    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }
}

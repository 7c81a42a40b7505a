import Glibc

/// Volumes from Mathesar's current image: its cluster was made by Debian's
/// `pg_createcluster`, which keeps postgresql.conf, pg_hba.conf and
/// pg_ident.conf in `/etc/postgresql/N/NAME/` (a volume of its own there), not
/// in the data directory. When PGDATA is such a cluster, the files are copied
/// into PGDATA once (logged), so that the server started with `-D PGDATA`
/// finds them; the originals stay where they are.
///
/// The copies change only what no longer fits: settings that point back into
/// /etc or at the Debian pid file become comments, `ssl = on` without its
/// certificate becomes a comment, and pg_hba.conf gets one line first that
/// lets mathesar-init's own administration connection in (`postgres` over the
/// private socket directory, mode 0700, as for clusters it makes itself; the
/// image's `peer` rule would refuse PID 1's root account). Its users and
/// passwords are untouched: Mathesar's `postgres` role and its password keep
/// working over 127.0.0.1.
public enum DebianClusterLayout {
    public static let configRoot = "/etc/postgresql"
    static let pointingOutside: Set<String> = ["data_directory", "hba_file", "ident_file", "external_pid_file"]
    static let marker = "# (mathesar-init)"

    /// Whether PGDATA is a cluster without its postgresql.conf: the pg_createcluster layout.
    public static func needsAdoption(pgdata: String) -> Bool {
        FileIO.exists(pgdata + "/PG_VERSION") && !FileIO.exists(pgdata + "/postgresql.conf")
    }

    /// `/etc/postgresql/MAJOR/NAME` whose postgresql.conf has `data_directory` = PGDATA
    /// (the cluster named `mathesar` first, as Mathesar's image made it).
    public static func findConfigDirectory(pgdata: String, major: Int, root: String = configRoot) -> String? {
        let versionDirectory = "\(root)/\(major)"
        let names = (FileIO.list(versionDirectory) ?? []).sorted { a, b in a == "mathesar" ? true : (b == "mathesar" ? false : a < b) }
        for name in names {
            let directory = versionDirectory + "/" + name
            guard let text = readTextFile(directory + "/postgresql.conf") else { continue }
            let dataDirectory = text.split(separator: "\n").compactMap(setting(in:)).last { $0.name == "data_directory" }?.value
            if let dataDirectory, normalize(dataDirectory) == normalize(pgdata) { return directory }
        }
        return nil
    }

    /// For boot's preflight, before anything is written: the configuration
    /// directory of a pg_createcluster cluster in PGDATA (nil when PGDATA
    /// needs no adoption), or the refusal when it cannot be found.
    public static func inspect(pgdata: String, root: String = configRoot) -> Result<String?, Failure> {
        guard needsAdoption(pgdata: pgdata), case .cluster(let major) = ClusterDirectory.classify(pgdata) else { return .success(nil) }
        guard let directory = findConfigDirectory(pgdata: pgdata, major: major, root: root) else {
            return .failure(Failure(ExitCode.volumeUnusable, "\(pgdata) holds a PostgreSQL \(major) cluster without postgresql.conf, and no \(root)/\(major)/*/postgresql.conf names it as data_directory; nothing was changed. It looks like a volume of Mathesar's image, whose configuration lived in its other volume, \(root) (\(root)/\(major)/mathesar): mount that volume at \(root) too, or put the cluster's postgresql.conf, pg_hba.conf and pg_ident.conf into \(pgdata)"))
        }
        return .success(directory)
    }

    /// Copies the configuration into PGDATA; returns what it did, for the log.
    public static func adopt(pgdata: String, configDirectory: String, owner: UserIdentity?) throws(Failure) -> [String] {
        guard let conf = readTextFile(configDirectory + "/postgresql.conf") else {
            throw Failure(ExitCode.volumeUnusable, "cannot read \(configDirectory)/postgresql.conf to adopt the cluster in \(pgdata)")
        }
        var notes: [String] = []
        let (rewritten, changed) = rewriteSettings(conf, pgdata: pgdata, source: configDirectory)
        let header = "\(marker) copied from \(configDirectory)/postgresql.conf, Debian's pg_createcluster layout\n"
        try ConfigurationCarryOver.write(Array((header + rewritten).utf8), to: pgdata + "/postgresql.conf", owner: owner)
        if !changed.isEmpty { notes.append("turned into comments in the copy: \(changed.joined(separator: ", "))") }

        let hba = readTextFile(configDirectory + "/pg_hba.conf") ?? ""
        let adminLine = """
            \(marker) its administration connection: the bootstrap superuser over the private
            \(marker) socket directory of the bundled server (mode 0700), as in clusters it creates.
            local   all             postgres                                trust
            \(marker) copied from \(configDirectory)/pg_hba.conf:

            """
        try ConfigurationCarryOver.write(Array((adminLine + hba).utf8), to: pgdata + "/pg_hba.conf", owner: owner)
        if FileIO.exists(configDirectory + "/pg_ident.conf") {
            try ConfigurationCarryOver.copyFile(configDirectory + "/pg_ident.conf", to: pgdata + "/pg_ident.conf", owner: owner)
        }
        let include = configDirectory + "/" + ConfigurationCarryOver.includeDirectory
        if FileIO.isDirectory(include), !FileIO.exists(pgdata + "/" + ConfigurationCarryOver.includeDirectory) {
            try DataVolume.ownedDirectory(pgdata + "/" + ConfigurationCarryOver.includeDirectory, mode: 0o700, owner: owner)
            for name in FileIO.list(include) ?? [] where FileIO.isRegularFile(include + "/" + name) {
                try ConfigurationCarryOver.copyFile(include + "/" + name, to: pgdata + "/conf.d/" + name, owner: owner)
            }
        }
        _ = FileSystem.syncFilesystem(of: pgdata)
        return notes
    }

    /// The configuration with settings that point outside PGDATA turned into comments.
    static func rewriteSettings(_ text: String, pgdata: String, source: String) -> (String, [String]) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let settings = lines.compactMap(setting(in:))
        func last(_ name: String) -> String? { settings.last { $0.name == name }?.value }
        var disable = pointingOutside
        if let ssl = last("ssl"), ["on", "true", "yes", "1"].contains(ssl.lowercased()) {
            let files = [last("ssl_cert_file") ?? "server.crt", last("ssl_key_file") ?? "server.key"]
            if files.contains(where: { !FileIO.exists($0.hasPrefix("/") ? $0 : pgdata + "/" + $0) }) {
                disable.formUnion(["ssl", "ssl_cert_file", "ssl_key_file"])
            }
        }
        var changed: [String] = []
        let out = lines.map { line -> String in
            guard let found = setting(in: line), disable.contains(found.name) else { return String(line) }
            if !changed.contains(found.name) { changed.append(found.name) }
            return "\(marker) \(line)"
        }
        return (out.joined(separator: "\n"), changed)
    }

    /// `name = value` or `name value` of one postgresql.conf line, without quotes and comment.
    static func setting(in line: Substring) -> (name: String, value: String)? {
        var rest = line.drop { $0 == " " || $0 == "\t" }
        let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }
        guard !name.isEmpty else { return nil }
        rest = rest.dropFirst(name.count).drop { $0 == " " || $0 == "\t" }
        if rest.first == "=" { rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" } }
        var value = ""
        if rest.first == "'" {
            var chars = rest.dropFirst()
            while let c = chars.first {
                chars = chars.dropFirst()
                if c == "'" {
                    if chars.first == "'" { value.append("'"); chars = chars.dropFirst(); continue }
                    break
                }
                value.append(c)
            }
        } else {
            value = String(rest.prefix { $0 != " " && $0 != "\t" && $0 != "#" })
        }
        return (name.lowercased(), value)
    }

    static func normalize(_ path: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }

    /// The warning for an adopted cluster: Mathesar's image gave `postgres` a password every install shares.
    public static func credentialsWarning(pgdata: String) -> String {
        "\(pgdata) comes from Mathesar's image, which gave the role postgres a password shared by every such install (and created the database mathesar_django); both keep working, over 127.0.0.1 only. Change that password: set POSTGRES_USER=postgres and a new POSTGRES_PASSWORD (mathesar-init sets it at every boot), or run ALTER ROLE postgres PASSWORD '...' and update the connections Mathesar stores"
    }
}

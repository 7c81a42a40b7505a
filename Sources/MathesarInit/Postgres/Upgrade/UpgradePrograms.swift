/// The programs an upgrade needs from each side: pg_upgrade runs the old
/// cluster's own `postgres`, `pg_ctl` and `pg_controldata`, and the new
/// version's tools (pg_upgrade checks their presence and versions itself too).
public enum UpgradePrograms {
    public static let old = ["postgres", "pg_ctl", "pg_controldata"]
    public static let new = ["postgres", "initdb", "pg_ctl", "pg_controldata", "pg_upgrade", "pg_dump",
                             "pg_dumpall", "pg_restore", "pg_resetwal", "psql", "vacuumdb"]

    /// Finds the old version's binaries: `MATHESAR_PG_OLD_BINDIR`, else
    /// `/usr/lib/postgresql/OLD/bin`. A variable that points at the wrong place
    /// is a configuration error (78); binaries that are simply not in the image
    /// make this volume unusable with it (73, like a cluster that is too new),
    /// and the message names the package to install.
    /// `majorOf` gives the version of a directory whose path does not say it.
    public static func locateOld(configured: String?, oldMajor: Int, newMajor: Int, versionsRoot: String = "/usr/lib/postgresql",
                                 majorOf: (ServerBinaries) -> Int?) -> Result<ServerBinaries, Failure> {
        if let configured {
            let found = ServerBinaries(directory: configured, origin: "MATHESAR_PG_OLD_BINDIR")
            let missing = found.missing(old)
            if !missing.isEmpty {
                return .failure(Failure(ExitCode.configuration, "MATHESAR_PG_OLD_BINDIR=\"\(configured)\": \(missing.joined(separator: ", ")) missing or not executable there; point it at PostgreSQL \(oldMajor)'s bin directory (example: MATHESAR_PG_OLD_BINDIR=\(versionsRoot)/\(oldMajor)/bin)"))
            }
            if let major = majorOf(found), major != oldMajor {
                return .failure(Failure(ExitCode.configuration, "MATHESAR_PG_OLD_BINDIR=\"\(configured)\" holds PostgreSQL \(major), but the cluster to upgrade is PostgreSQL \(oldMajor); point it at PostgreSQL \(oldMajor)'s bin directory"))
            }
            return .success(found)
        }
        let candidate = ServerBinaries(directory: "\(versionsRoot)/\(oldMajor)/bin", origin: "\(versionsRoot)/\(oldMajor)")
        let missing = candidate.missing(old)
        if missing.isEmpty { return .success(candidate) }
        let what = missing.count == old.count ? "are not installed" : "are incomplete there (missing: \(missing.joined(separator: ", ")))"
        return .failure(Failure(ExitCode.volumeUnusable, "upgrading the PostgreSQL \(oldMajor) cluster to \(newMajor) needs PostgreSQL \(oldMajor)'s own programs (\(old.joined(separator: ", "))), which \(what) in \(candidate.directory); nothing was changed. Install them in the image (\(ServerPackageAdvice.install(major: oldMajor, directory: candidate.directory))) or set MATHESAR_PG_OLD_BINDIR to their bin directory; or run an image with PostgreSQL \(oldMajor)"))
    }

    /// The new version's programs pg_upgrade needs, or the failure naming the missing ones.
    public static func checkNew(_ binaries: ServerBinaries, newMajor: Int) -> Failure? {
        let missing = binaries.missing(new)
        if missing.isEmpty { return nil }
        return Failure(ExitCode.volumeUnusable, "upgrading the cluster needs PostgreSQL \(newMajor)'s \(missing.joined(separator: ", ")), missing from \(binaries.directory); nothing was changed. Install the full server (\(ServerPackageAdvice.install(major: newMajor, directory: binaries.directory)); Debian's postgresql-N package includes pg_upgrade)")
    }
}

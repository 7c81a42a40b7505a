/// Where one major-version upgrade of `PGDATA` works: every directory is a
/// sibling of PGDATA, on its filesystem, so that the final swap is two renames.
///
///     postgres/             PGDATA: the old cluster until the swap, the new one after
///     postgres.16.new/      the new cluster while it is being made (removed on roll-back)
///     postgres.15.old/      the old cluster after the swap, until the new one is verified
///     postgres.upgrade.json the journal (see UpgradeJournal)
public struct UpgradePaths: Equatable, Sendable {
    public let pgdata: String

    public init(pgdata: String) {
        self.pgdata = pgdata
    }

    public var journal: String { pgdata + ".upgrade.json" }
    public func newCluster(major: Int) -> String { "\(pgdata).\(major).new" }
    public func oldCluster(major: Int) -> String { "\(pgdata).\(major).old" }
    /// pg_upgrade's own logs of a failed attempt, kept for the user (the new cluster that held them is removed).
    public var failedLogs: String { pgdata + ".upgrade-logs" }
    public var parent: String { AtomicFile.parentDirectory(of: pgdata) }

    /// pg_upgrade's working and socket directory: private, outside the volume.
    public static func workDirectory(runDirectory: String) -> String { runDirectory + "/postgresql-upgrade" }
}

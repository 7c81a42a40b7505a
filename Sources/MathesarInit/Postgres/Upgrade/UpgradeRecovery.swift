/// What the boot after an interrupted upgrade does, decided from the journal
/// and what the directories hold (read only; `ClusterUpgrade` performs it).
///
/// - Before the swap (journal at started ... upgrading), PGDATA was never
///   renamed or written by pg_upgrade except, in link mode, its
///   global/pg_control renamed to pg_control.old: roll back by removing the
///   new directory (and renaming pg_control back). PGDATA is then the old
///   cluster as it was, and the boot goes on as if no upgrade had started
///   (so, with newer binaries, it starts the upgrade again).
/// - From `upgraded` on, the new cluster is complete and on disk: roll
///   forward. The two renames are redone from where they stopped (seen from
///   which directories exist), then the new server starts and is verified.
/// - Anything else (a directory missing that the journal says must exist) is
///   refused without touching anything.
public enum UpgradeRecovery {
    public enum Action: Equatable, Sendable {
        /// Remove the new directory; PGDATA is the old cluster.
        case rollBack
        /// Finish the swap; `renameOld` when PGDATA still holds the old cluster.
        case swap(renameOld: Bool)
        /// PGDATA is the new cluster: start it, then verify and clean up.
        case finishAfterStart
        /// Leave everything as it is and stop with this message.
        case refuse(String)
    }

    /// What a directory holds, as far as recovery cares.
    public enum Directory: Equatable, Sendable {
        case missing
        case cluster(major: Int)
        /// Exists but holds no readable PG_VERSION (a half-made new cluster, or something else).
        case other
    }

    public static func look(_ path: String) -> Directory {
        guard FileIO.exists(path) else { return .missing }
        if case .cluster(let major) = ClusterDirectory.classify(path) { return .cluster(major: major) }
        return .other
    }

    /// - Parameters: what PGDATA, the new (`.N.new`) and the old (`.M.old`) directories hold,
    ///   and the major version of the server binaries of this boot.
    /// The decision for the directories as they are on disk now.
    public static func decide(_ journal: UpgradeJournal, paths: UpgradePaths, serverMajor: Int) -> Action {
        decide(journal, pgdata: look(paths.pgdata), new: look(paths.newCluster(major: journal.newMajor)),
               old: look(paths.oldCluster(major: journal.oldMajor)), serverMajor: serverMajor)
    }

    public static func decide(_ journal: UpgradeJournal, pgdata: Directory, new: Directory, old: Directory, serverMajor: Int) -> Action {
        let paths = "PGDATA \(describe(pgdata)), the new cluster's directory \(describe(new)) and the old cluster's directory \(describe(old))"
        if journal.step.isBeforeSwap {
            guard pgdata == .cluster(major: journal.oldMajor), old == .missing else {
                return .refuse("an upgrade from PostgreSQL \(journal.oldMajor) to \(journal.newMajor) was interrupted before its directories were swapped, but \(paths); nothing was changed")
            }
            return .rollBack
        }
        guard serverMajor == journal.newMajor else {
            return .refuse("an upgrade from PostgreSQL \(journal.oldMajor) to \(journal.newMajor) was interrupted after pg_upgrade succeeded, and finishing it needs PostgreSQL \(journal.newMajor), but this server is \(serverMajor); nothing was changed. Run the image with PostgreSQL \(journal.newMajor) to finish it (the old cluster stays intact)")
        }
        let newComplete = new == .cluster(major: journal.newMajor)
        switch (pgdata, newComplete, old) {
        case (.cluster(journal.oldMajor), true, .missing) where journal.step == .upgraded:
            return .swap(renameOld: true)
        case (.missing, true, .cluster(journal.oldMajor)) where journal.step == .upgraded:
            return .swap(renameOld: false)
        case (.cluster(journal.newMajor), false, _) where new == .missing:
            return .finishAfterStart
        default:
            return .refuse("an upgrade from PostgreSQL \(journal.oldMajor) to \(journal.newMajor) was interrupted at step \(journal.step.rawValue), but \(paths), which no step leaves; nothing was changed")
        }
    }

    static func describe(_ directory: Directory) -> String {
        switch directory {
        case .missing: "is missing"
        case .cluster(let major): "holds a PostgreSQL \(major) cluster"
        case .other: "holds something that is not a cluster"
        }
    }
}

/// What an upgrade of PGDATA will need, found by reading only (preflight and
/// `check` use it; nothing is written): both versions' programs, the layout,
/// and free space, all before anything is touched.
public struct UpgradePlan: Sendable {
    public var paths: UpgradePaths
    public var oldMajor: Int
    public var newMajor: Int
    public var oldBinaries: ServerBinaries
    public var newBinaries: ServerBinaries
    public var requestedMode: UpgradeMode
    public var keepOld: Bool
    public var clusterBytes: UInt64
    public var neededBytes: UInt64
    public var availableBytes: UInt64

    /// Room for what is new whatever the mode: the new catalogs, WAL, pg_upgrade's schema dumps.
    static func headroom(clusterBytes: UInt64) -> UInt64 { (64 << 20) + clusterBytes / 20 }

    /// Clone and copy need about the cluster's size (a clone may need less, but
    /// whether the filesystem can clone is known only once pg_upgrade tried);
    /// link needs only the headroom.
    public static func neededBytes(clusterBytes: UInt64, mode: UpgradeMode) -> UInt64 {
        (mode == .link ? 0 : clusterBytes) + headroom(clusterBytes: clusterBytes)
    }

    /// Inspects without writing. `reclaimable` is space a pending roll-back
    /// will free first (the half-made new cluster); `majorOf` gives the version
    /// of binaries whose path does not say it.
    public static func inspect(config: Configuration, oldMajor: Int, newMajor: Int, newBinaries: ServerBinaries,
                               rollbackPending: Bool = false, majorOf: (ServerBinaries) -> Int?) -> Result<UpgradePlan, Failure> {
        let paths = UpgradePaths(pgdata: config.pgdata)
        if ClusterDirectory.isMountPoint(config.pgdata) {
            return .failure(Failure(ExitCode.volumeUnusable, "\(config.pgdata) holds a PostgreSQL \(oldMajor) cluster to upgrade to \(newMajor), but it is a mount point, and the upgrade replaces PGDATA by renaming directories next to it; nothing was changed. Mount the volume one level up (at \(paths.parent)) or set PGDATA to a directory inside the volume"))
        }
        for sibling in [paths.oldCluster(major: oldMajor)] + (rollbackPending ? [] : [paths.newCluster(major: newMajor)])
            where FileIO.exists(sibling) {
            return .failure(Failure(ExitCode.volumeUnusable, "the upgrade of \(config.pgdata) from PostgreSQL \(oldMajor) to \(newMajor) would use \(sibling), which already exists (kept from an earlier upgrade?); nothing was changed. Move it away or delete it"))
        }
        let oldBinaries: ServerBinaries
        switch UpgradePrograms.locateOld(configured: config.pgOldBinDirectory, oldMajor: oldMajor, newMajor: newMajor, majorOf: majorOf) {
        case .success(let found): oldBinaries = found
        case .failure(let failure): return .failure(failure)
        }
        if let failure = UpgradePrograms.checkNew(newBinaries, newMajor: newMajor) { return .failure(failure) }

        let clusterBytes = FileSystem.treeSize(config.pgdata)
        let needed = neededBytes(clusterBytes: clusterBytes, mode: config.upgradeMode)
        var available = FileSystem.space(paths.parent)?.free ?? 0
        if rollbackPending { available += FileSystem.treeSize(paths.newCluster(major: newMajor)) }
        let plan = UpgradePlan(paths: paths, oldMajor: oldMajor, newMajor: newMajor, oldBinaries: oldBinaries,
                               newBinaries: newBinaries, requestedMode: config.upgradeMode, keepOld: config.keepOldCluster,
                               clusterBytes: clusterBytes, neededBytes: needed, availableBytes: available)
        if let failure = plan.spaceFailure() { return .failure(failure) }
        return .success(plan)
    }

    /// The refusal when the filesystem is too full to start.
    func spaceFailure() -> Failure? {
        guard availableBytes < neededBytes else { return nil }
        var advice = "free space in \(paths.parent) or enlarge the volume"
        if requestedMode != .link {
            advice += ", or set MATHESAR_PG_UPGRADE_MODE=link (needs about \(formatBytes(Self.neededBytes(clusterBytes: clusterBytes, mode: .link))), but the old cluster cannot be started again once the new one has)"
        }
        return Failure(ExitCode.volumeUnusable, "upgrading the PostgreSQL \(oldMajor) cluster in \(paths.pgdata) (\(formatBytes(clusterBytes))) to \(newMajor) in \(requestedMode.rawValue) mode needs about \(formatBytes(neededBytes)) free next to it, and \(formatBytes(availableBytes)) is available; nothing was changed. To go on, \(advice)")
    }

    /// One line for preflight and `check`.
    public var summary: String {
        "the PostgreSQL \(oldMajor) cluster in \(paths.pgdata) (\(formatBytes(clusterBytes))) will be upgraded to \(newMajor) with pg_upgrade (\(modeDescription)), using PostgreSQL \(oldMajor) from \(oldBinaries.directory); needs about \(formatBytes(neededBytes)) free, \(formatBytes(availableBytes)) available"
    }

    var modeDescription: String {
        switch requestedMode {
        case .auto: "clone where the filesystem supports it, else copy"
        case .clone: "clone"
        case .copy: "copy"
        case .link: "link: the old cluster cannot be started once the new one has"
        }
    }
}

/// "1.2 GB", "640 MB", "12 kB": decimal units, one decimal under 10.
public func formatBytes(_ bytes: UInt64) -> String {
    let units: [(UInt64, String)] = [(1_000_000_000_000, "TB"), (1_000_000_000, "GB"), (1_000_000, "MB"), (1_000, "kB")]
    for (size, name) in units where bytes >= size {
        let value = Double(bytes) / Double(size)
        if value < 10 {
            let tenths = Int((value * 10).rounded())
            return tenths % 10 == 0 ? "\(tenths / 10) \(name)" : "\(tenths / 10).\(tenths % 10) \(name)"
        }
        return "\(Int(value.rounded())) \(name)"
    }
    return "\(bytes) B"
}

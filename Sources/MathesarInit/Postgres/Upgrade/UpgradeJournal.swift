import Glibc

/// The upgrade's state file, `PGDATA.upgrade.json`, written durably (fsync of
/// the file and of its directory) before each step begins. With it, the next
/// boot after a crash at any moment knows what was in progress; see
/// `UpgradeRecovery` for what it then does.
public struct UpgradeJournal: Equatable, Sendable {
    public enum Step: String, Sendable, CaseIterable {
        /// The journal exists; nothing else was written yet.
        case started
        /// The old cluster is being brought to a clean shutdown and read (single-user mode).
        case inspecting
        /// initdb of the new cluster in `PGDATA.N.new`.
        case initializing
        /// `pg_upgrade --check`.
        case checking
        /// `pg_upgrade`: in link mode, it renames the old global/pg_control to pg_control.old.
        case upgrading
        /// pg_upgrade succeeded and the new cluster is on disk: from here on, only forward.
        case upgraded
        /// PGDATA is the new cluster; the old one waits in `PGDATA.M.old`.
        case swapped
        /// The new server started and answered the check query; left: statistics and removing the old cluster.
        case verified

        /// Before the swap a crash is undone: the new directory is removed, PGDATA was never changed.
        public var isBeforeSwap: Bool {
            switch self {
            case .started, .inspecting, .initializing, .checking, .upgrading: true
            case .upgraded, .swapped, .verified: false
            }
        }
    }

    public static let formatVersion = 1

    public var step: Step
    public var oldMajor: Int
    public var newMajor: Int
    public var oldBinDirectory: String
    public var newBinDirectory: String
    /// What MATHESAR_PG_UPGRADE_MODE asked for.
    public var requestedMode: UpgradeMode
    /// What pg_upgrade does (clone, copy or link); nil until `pg_upgrade --check` decided it.
    public var transfer: UpgradeMode?
    public var keepOld: Bool
    /// Seconds since the epoch, for the total duration across reboots.
    public var startedAt: Int
    /// Each step and when it began, for a post-mortem.
    public var history: [(step: String, at: String)]

    public init(oldMajor: Int, newMajor: Int, oldBinDirectory: String, newBinDirectory: String,
                requestedMode: UpgradeMode, keepOld: Bool) {
        self.step = .started
        self.oldMajor = oldMajor
        self.newMajor = newMajor
        self.oldBinDirectory = oldBinDirectory
        self.newBinDirectory = newBinDirectory
        self.requestedMode = requestedMode
        self.transfer = nil
        self.keepOld = keepOld
        self.startedAt = Int(time(nil))
        self.history = [(Step.started.rawValue, WallClock.timestamp())]
    }

    public static func == (a: UpgradeJournal, b: UpgradeJournal) -> Bool {
        a.json() == b.json()
    }

    func json() -> JSONValue {
        .object([
            ("format", .number(Double(Self.formatVersion))),
            ("step", .string(step.rawValue)),
            ("old_major", .number(Double(oldMajor))),
            ("new_major", .number(Double(newMajor))),
            ("old_bindir", .string(oldBinDirectory)),
            ("new_bindir", .string(newBinDirectory)),
            ("requested_mode", .string(requestedMode.rawValue)),
            ("transfer", transfer.map { .string($0.rawValue) } ?? .null),
            ("keep_old", .bool(keepOld)),
            ("started_at", .number(Double(startedAt))),
            ("history", .array(history.map { .object([("step", .string($0.step)), ("at", .string($0.at))]) })),
        ])
    }

    /// Parses a journal; nil when the text is not one this version wrote.
    public static func parse(_ text: String) -> UpgradeJournal? {
        guard let value = JSONValue.parse(text),
              value["format"]?.numberValue == Double(formatVersion),
              let step = value["step"]?.stringValue.flatMap(Step.init(rawValue:)),
              let oldMajor = value["old_major"]?.numberValue, let newMajor = value["new_major"]?.numberValue,
              let oldBin = value["old_bindir"]?.stringValue, let newBin = value["new_bindir"]?.stringValue,
              let requested = value["requested_mode"]?.stringValue.flatMap(UpgradeMode.init(rawValue:))
        else { return nil }
        var journal = UpgradeJournal(oldMajor: Int(oldMajor), newMajor: Int(newMajor), oldBinDirectory: oldBin,
                                     newBinDirectory: newBin, requestedMode: requested,
                                     keepOld: value["keep_old"] == .bool(true))
        journal.step = step
        journal.transfer = value["transfer"]?.stringValue.flatMap(UpgradeMode.init(rawValue:))
        journal.startedAt = Int(value["started_at"]?.numberValue ?? 0)
        if case .array(let items)? = value["history"] {
            journal.history = items.compactMap { item in
                guard let step = item["step"]?.stringValue, let at = item["at"]?.stringValue else { return nil }
                return (step, at)
            }
        }
        return journal
    }

    /// The journal of an upgrade in progress, nil when there is none, or a
    /// failure when one exists but cannot be read (then nothing may be touched).
    public static func load(_ paths: UpgradePaths) -> Result<UpgradeJournal?, Failure> {
        switch FileIO.read(paths.journal, limit: 1 << 16) {
        case .failure(.missing):
            return .success(nil)
        case .success(let bytes):
            if let journal = parse(String(decoding: bytes, as: UTF8.self)) { return .success(journal) }
            return .failure(Failure(ExitCode.volumeUnusable, "\(paths.journal) records an interrupted PostgreSQL upgrade but cannot be read (not written by this version of mathesar-init?); nothing was changed. Look at it, at \(paths.pgdata) and at its .new/.old siblings, and remove the journal only once PGDATA holds the cluster you want"))
        case .failure(let why):
            return .failure(Failure(ExitCode.volumeUnusable, "cannot read the upgrade journal \(paths.journal): \(why); nothing was changed"))
        }
    }

    /// Records that `next` begins, durably, before it begins.
    public mutating func advance(to next: Step, _ paths: UpgradePaths) throws(Failure) {
        step = next
        history.append((next.rawValue, WallClock.timestamp()))
        try save(paths)
    }

    public func save(_ paths: UpgradePaths) throws(Failure) {
        if let problem = AtomicFile.write(path: paths.journal, contents: Array((json().encoded() + "\n").utf8), mode: 0o600, durable: true) {
            throw Failure(ExitCode.volumeUnusable, "cannot write the upgrade journal: \(problem)")
        }
    }

    /// The upgrade is over (finished or undone): the journal goes, durably.
    public static func remove(_ paths: UpgradePaths) throws(Failure) {
        if unlink(paths.journal) != 0 && errno != ENOENT {
            throw Failure(ExitCode.volumeUnusable, "cannot remove the upgrade journal \(paths.journal): \(lastErrnoText())")
        }
        AtomicFile.syncDirectory(paths.parent)
    }
}

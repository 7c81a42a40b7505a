/// The phases of boot, in order. One word each, the same in the phase's log
/// line ("database: ... (1.2 s)"), in status.json's `phase` while boot runs,
/// and in "SIGTERM received during boot (database)".
public enum BootPhase: String, Sendable, CaseIterable {
    /// Before preflight ends (status.json is not written yet).
    case starting
    /// Checks that write nothing.
    case preflight
    /// The lock, the secrets, the directories.
    case volume
    /// The bundled server started and reconciled, or the external one reached.
    case database
    /// `MATHESAR_MIGRATE_COMMAND`.
    case migrate
    /// The bundled role's new password into the app's stored copy.
    case credentials
    /// `MATHESAR_SQL_UPGRADE_COMMAND`.
    case schema
    /// The app is being started; status.json then shows the supervisor's phase.
    case app
    /// `backup` with the volume stopped: the dumps, before the clean stop.
    case backup
    /// `reindex` with the volume stopped.
    case reindex
}

/// The secrets once read or generated (see `AppEnvironment` in AppProcess.swift and `DatabaseHelper` in BootSequence.swift for where they go).
public struct ResolvedSecrets {
    public var secretKey: String
    /// nil only when external mode has none, which configuration refuses.
    public var databasePassword: String?
}

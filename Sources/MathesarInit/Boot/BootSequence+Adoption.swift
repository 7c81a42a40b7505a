/// Preflight steps for volumes that come from elsewhere (Mathesar's own
/// image, a container without a volume): every refusal here happens before
/// boot writes anything, not even the lock file or `secrets/`.
extension BootSequence {
    /// A pg_createcluster cluster whose /etc/postgresql configuration is
    /// missing is refused (73); then where the key comes from (78 when a
    /// cluster with data would silently get a new one).
    func inspectAdoption() throws(Supervisor.Interruption) -> [String] {
        var notes: [String] = []
        if config.database.mode == .bundled {
            switch DebianClusterLayout.inspect(pgdata: config.pgdata) {
            case .failure(let failure): throw .failure(failure)
            case .success(let directory?): notes.append("its configuration will be copied from \(directory) (pg_createcluster layout)")
            case .success(nil): break
            }
        }
        var clusterExists = false
        if config.database.mode == .bundled, case .cluster = clusterState { clusterExists = true }
        switch SecretKeySource.decide(config: config, clusterExists: clusterExists) {
        case .failure(let failure): throw .failure(failure)
        case .success(let source): secretKeySource = source
        }
        if let warning = DataDirectoryMount.warning(config: config) { logger.warning(warning) }
        return notes
    }

    /// Volume phase: the key as decided in preflight; a key adopted from
    /// Mathesar's image is persisted into the volume first.
    func resolveSecretKey(_ store: SecretStore) throws(Failure) -> (value: String, generated: Bool) {
        switch (config.secretKey, secretKeySource) {
        case (.given(let value, _), _):
            return (value, false)
        case (.persisted(let name), .legacy(let path, let value)):
            try store.persist(name, value: value)
            logger.info("SECRET_KEY: using the key Mathesar's image kept in \(path) (MATHESAR_LEGACY_SECRETS_DIR); copied into \(config.secretsDirectory)/\(name), where later boots read it")
            return (value, false)
        case (.persisted(let name), _):
            return try store.resolve(name)
        }
    }
}

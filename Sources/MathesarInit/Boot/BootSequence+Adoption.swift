/// Preflight steps for volumes that come from elsewhere (Mathesar's own
/// image, a container without a volume): every refusal here happens before
/// boot writes anything, not even the lock file or `secrets/`.
extension BootSequence {
    /// A pg_createcluster cluster whose /etc/postgresql configuration is
    /// missing is refused (73); then where the key comes from (78 when a
    /// cluster with data would silently get a new one).
    func inspectAdoption(clusterState: ClusterState) throws(Interruption) -> (SecretKeySource, [String]) {
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
        let source: SecretKeySource
        switch SecretKeySource.decide(config: config, clusterExists: clusterExists) {
        case .failure(let failure): throw .failure(failure)
        case .success(let decided): source = decided
        }
        if goal != .prepare, let warning = DataDirectoryMount.warning(config: config) { logger.warning(warning) }
        return (source, notes)
    }

    /// Volume phase: the key as decided in preflight; a key adopted from
    /// Mathesar's image is persisted into the volume first.
    func resolveSecretKey(_ store: SecretStore, source: SecretKeySource) throws(Failure) -> (value: String, generated: Bool) {
        switch (config.secretKey, source) {
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

    /// What HTTP servers print once they accept connections (gunicorn, which
    /// Mathesar runs; uvicorn; Django's runserver).
    static let listeningMarkers = ["Listening at: ", "Uvicorn running on ", "Starting development server at "]

    /// Beside the app, once per boot: when the app says it listens, the helper
    /// warns if it answers 400 to host names users will open (DOMAIN_NAME, the
    /// container's addresses). Waiting for that line instead of polling the
    /// app keeps an app that serves no HTTP free of a lingering prober. The
    /// helper is not a service: it ends by itself within seconds, its exit is ignored.
    func watchForListeningApp(_ helper: DatabaseHelper) {
        let spec = helper.spec(.hostsProbe)
        let runtime = supervisor.runtime
        let logger = self.logger
        logger.appLineObserver = { [weak logger] line in
            guard BootSequence.listeningMarkers.contains(where: { line.contains($0) }) else { return }
            logger?.appLineObserver = nil
            do {
                _ = try runtime.spawn(spec)
            } catch {
                logger?.warning("hosts: could not start the host-name check (\((error as? Failure)?.message ?? "\(error)")); the app runs regardless")
            }
        }
    }
}

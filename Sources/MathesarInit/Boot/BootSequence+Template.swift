import Glibc

/// Whether a first boot copies the image's template cluster, decided in preflight.
enum TemplateChoice {
    case use(directory: String, manifest: TemplateManifest)
    /// initdb, and why (for the log).
    case skip(String)
}

/// A first boot from the template cluster `prepare` made at image build:
/// copied (reflink or copy_file_range) into the same temporary directory
/// initdb would fill, by the server's account, then made durable and renamed
/// into place like initdb's result, so that a crash at any moment leaves no
/// half cluster. Anything that does not fit falls back to initdb, saying why.
extension BootSequence {
    /// Preflight (reads only): the note for an empty PGDATA.
    func inspectTemplate(serverMajor: Int) -> String {
        guard goal != .prepare else {
            template = .skip("prepare makes the template itself")
            return "a new cluster will be created with initdb"
        }
        guard let directory = config.templateDirectory else {
            template = .skip("MATHESAR_TEMPLATE_DIR is not set")
            return "a new cluster will be created with initdb"
        }
        switch TemplateCluster.inspect(directory: directory, serverMajor: serverMajor, role: config.database.user, database: config.database.name) {
        case .fits(let manifest):
            template = .use(directory: directory, manifest: manifest)
            return "a new cluster will be copied from the template in \(directory)"
        case .unfit(let why):
            template = .skip(why)
            return "a new cluster will be created with initdb (\(why))"
        }
    }

    /// Database phase: fills `target` from the template, or leaves it empty
    /// for initdb (nil) after logging why. A stop during the copy removes it.
    func copyTemplate(into target: String, server: BundledServer) throws -> TemplateManifest? {
        guard case .use(let directory, let manifest)? = template else {
            if case .skip(let why)? = template, goal != .prepare { logger.info("first boot: \(why); running initdb") }
            return nil
        }
        let program = SelfExecutable.path()
        let spec = ProcessSpec(source: "template", executable: program,
                               arguments: [program, TemplateCluster.copyCommand, directory + "/" + TemplateCluster.clusterName, target, manifest.checksum],
                               environment: server.serverEnvironment(), user: serverUser, workingDirectory: "/", output: .captured)
        let result: Supervisor.TaskResult
        do {
            result = try supervisor.runTask(spec)
        } catch {
            FileSystem.removeTree(target)
            throw error
        }
        if result.status.succeeded {
            copyNote = result.lines.last ?? "copied"
            return manifest
        }
        let why = result.lines.last ?? "the copy \(result.status)"
        logger.warning("first boot: the template in \(directory) was not used: \(why); running initdb instead")
        // initdb needs an empty directory: start again from nothing.
        FileSystem.removeTree(target)
        _ = try server.prepareInitDirectory()
        return nil
    }

    /// After the rename: the cluster's history is the template's, so the
    /// migrate command's record is the manifest's (MATHESAR_MIGRATE=changed
    /// then skips it when the app is the one prepare ran).
    func seedFromTemplate(_ manifest: TemplateManifest, seconds: Double) throws -> String {
        if let app = manifest.appFingerprint, let database = manifest.databaseFingerprint {
            try migration.record(config).seed(app: app, database: database)
        }
        return "created the PostgreSQL \(manifest.postgresMajor) cluster from the template in \(formatDuration(seconds)) (\(copyNote ?? "copied"))"
    }
}

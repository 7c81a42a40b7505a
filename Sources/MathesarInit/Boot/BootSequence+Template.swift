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
    /// Preflight (reads only): the choice for an empty PGDATA, and its note.
    func inspectTemplate(serverMajor: Int) -> (TemplateChoice, String) {
        guard goal != .prepare else {
            return (.skip("prepare makes the template itself"), "a new cluster will be created with initdb")
        }
        guard let directory = config.templateDirectory else {
            return (.skip("MATHESAR_TEMPLATE_DIR is not set"), "a new cluster will be created with initdb")
        }
        switch TemplateCluster.inspect(directory: directory, serverMajor: serverMajor, role: config.database.user, database: config.database.name) {
        case .fits(let manifest):
            return (.use(directory: directory, manifest: manifest), "a new cluster will be copied from the template in \(directory)")
        case .unfit(let why):
            return (.skip(why), "a new cluster will be created with initdb (\(why))")
        }
    }

    /// Database phase: fills `target` from the template (the manifest and the
    /// copier's line), or leaves it empty for initdb (nil) after logging why.
    /// A stop during the copy removes it.
    func copyTemplate(_ bundled: BundledPlan, into target: String) throws(Interruption) -> (manifest: TemplateManifest, note: String)? {
        guard case .use(let directory, let manifest)? = bundled.template else {
            if case .skip(let why)? = bundled.template, goal != .prepare { logger.info("first boot: \(why); running initdb") }
            return nil
        }
        let program = SelfExecutable.path()
        let spec = ProcessSpec(source: "template", executable: program,
                               arguments: [program, TemplateCluster.copyCommand, directory + "/" + TemplateCluster.clusterName, target, manifest.checksum],
                               environment: bundled.server.serverEnvironment(), user: bundled.serverUser, workingDirectory: "/", output: .captured)
        let result: TaskResult
        do {
            result = try supervisor.runTask(spec)
        } catch {
            FileSystem.removeTree(target)
            throw error
        }
        if result.status.succeeded { return (manifest, result.lines.last ?? "copied") }
        let why = result.lines.last ?? "the copy \(result.status)"
        logger.warning("first boot: the template in \(directory) was not used: \(why); running initdb instead")
        // initdb needs an empty directory: start again from nothing.
        FileSystem.removeTree(target)
        do { _ = try bundled.server.prepareInitDirectory() } catch { throw .failure(error) }
        return nil
    }

    /// After the rename: the cluster's history is the template's, so the
    /// migrate command's record is the manifest's (MATHESAR_MIGRATE=changed
    /// then skips it when the app is the one prepare ran).
    func seedFromTemplate(_ manifest: TemplateManifest, note: String, seconds: Double) throws(Interruption) -> String {
        if let app = manifest.appFingerprint, let database = manifest.databaseFingerprint {
            do { try migration.record(config).seed(app: app, database: database) } catch { throw .failure(error) }
        }
        return "created the PostgreSQL \(manifest.postgresMajor) cluster from the template in \(formatDuration(seconds)) (\(note))"
    }
}

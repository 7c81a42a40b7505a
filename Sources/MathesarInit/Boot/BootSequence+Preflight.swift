import Glibc

/// Preflight: every check boot can make before it writes anything (not even
/// the lock file), and what the later phases need from it.
extension BootSequence {
    /// What preflight found and decided.
    struct Preflight {
        /// `MATHESAR_APP_USER`, looked up (nil: PID 1's own account).
        var appUser: UserIdentity?
        /// The bundled server to start; nil in external mode.
        var bundled: BundledPlan?
        /// Where SECRET_KEY comes from (see BootSequence+Adoption.swift).
        var secretKeySource: SecretKeySource
    }

    /// The bundled server as preflight found it.
    struct BundledPlan {
        var server: BundledServer
        var major: Int
        /// The OS user postgres (nil when PID 1 is not root).
        var serverUser: UserIdentity?
        /// A major-version upgrade to run, finish or undo (see BootSequence+Upgrade.swift).
        var upgrade: ClusterUpgrade?
    }

    func preflight() throws(Interruption) -> (Preflight, String) {
        for warning in config.warnings { logger.warning(warning) }
        var notes: [String] = []
        var appUser: UserIdentity?
        if isRoot, let name = config.appUser {
            switch UserDatabase.lookupOnSystem(name) {
            case .success(let user):
                appUser = user
                notes.append("app runs as \(user.name) (uid \(user.uid))")
            case .failure(let why):
                throw fail(ExitCode.configuration, "MATHESAR_APP_USER=\"\(ConfigurationProblem.printable(name))\": \(Self.describe(why)); create the account in the image or give an existing one")
            }
        }
        if goal == .run {
            guard let command = config.appCommand, !command.isEmpty else {
                throw fail(ExitCode.configuration, "no app command: give it as arguments (the image's CMD) or set MATHESAR_APP_COMMAND (example: MATHESAR_APP_COMMAND=\"gunicorn config.wsgi -b 0.0.0.0:8000\")")
            }
            if case .failure(let problem) = CommandResolver.resolve(command[0], searchPath: config.environment["PATH"], user: appUser) {
                throw fail(problem.exitCode, "app command: \(problem.message)")
            }
        }
        if let migrate = config.migrateCommand,
           case .failure(let problem) = CommandResolver.resolve(migrate[0], searchPath: config.environment["PATH"], user: appUser) {
            throw fail(ExitCode.configuration, "MATHESAR_MIGRATE_COMMAND: \(problem.message)")
        }
        try preflightSQLUpgrade(appUser: appUser)
        let secretProblems = SecretStore.inspect(directory: config.secretsDirectory, names: config.persistedSecrets)
        if !secretProblems.isEmpty {
            throw fail(ExitCode.configuration, ConfigurationError(problems: secretProblems).description)
        }
        var bundled: BundledPlan?
        var clusterState = ClusterState.empty
        if config.database.mode == .bundled {
            let (plan, state, note) = try inspectBundledServer()
            bundled = plan
            clusterState = state
            notes.append(note)
        } else {
            notes.append("external PostgreSQL at \(config.database.host!):\(config.database.port) (POSTGRES_HOST is set; the bundled server is not started)")
        }
        let (secretKeySource, adoption) = try inspectAdoption(clusterState: clusterState)
        notes += adoption
        return (Preflight(appUser: appUser, bundled: bundled, secretKeySource: secretKeySource), notes.joined(separator: "; "))
    }

    static func describe(_ error: UserDatabase.LookupError) -> String {
        switch error {
        case .unknownUser(let name): "no user \(name) in /etc/passwd"
        case .unknownGroup(let name): "no group \(name) in /etc/group"
        case .malformed(let spec): "\(spec) is not NAME, UID, NAME:GROUP or UID:GID"
        }
    }

    /// Finds the server and decides what to do with PGDATA, without writing.
    private func inspectBundledServer() throws(Interruption) -> (BundledPlan, ClusterState, String) {
        var serverUser: UserIdentity?
        if isRoot {
            switch UserDatabase.lookupOnSystem("postgres") {
            case .success(let user): serverUser = user
            case .failure:
                throw fail(ExitCode.configuration, "the bundled PostgreSQL must run as the OS user postgres, which does not exist; install the postgresql package (it creates the user) or run the container as a non-root user")
            }
        } else if case .failure(let failure) = UnknownUser.detect(runDirectory: config.runDirectory) {
            throw .failure(failure)
        }
        let binaries: ServerBinaries
        switch ServerBinaries.locate(configured: config.pgBinDirectory, searchPath: config.environment["PATH"]) {
        case .success(let found): binaries = found
        case .failure(let failure): throw .failure(failure)
        }
        let major: Int
        switch try binaries.majorVersion(tasks: supervisor, user: serverUser) {
        case .success(let found): major = found
        case .failure(let failure): throw .failure(failure)
        }
        let server = BundledServer(pgdata: config.pgdata, binaries: binaries, serverUser: serverUser,
                                   runDirectory: config.runDirectory, port: config.database.port,
                                   searchPath: config.environment["PATH"])
        var plan = BundledPlan(server: server, major: major, serverUser: serverUser, upgrade: nil)
        let state = ClusterDirectory.classify(config.pgdata)
        let modeNote = "bundled PostgreSQL \(major) from \(binaries.directory) (POSTGRES_HOST is not set)"
        if let (upgrade, pending) = try inspectPendingUpgrade(plan) {
            plan.upgrade = upgrade
            return (plan, state, modeNote + "; " + pending)
        }
        switch ClusterDirectory.plan(for: state, pgdata: config.pgdata, serverMajor: major) {
        case .failure(let failure): throw .failure(failure)
        case .success(.initialize): return (plan, state, modeNote + "; \(config.pgdata) is empty: a new cluster will be created")
        case .success(.use): return (plan, state, modeNote + "; existing cluster in \(config.pgdata)")
        case .success(.upgrade(let found)):
            let (upgrade, note) = try inspectUpgrade(from: found, plan)
            plan.upgrade = upgrade
            return (plan, state, modeNote + "; " + note)
        }
    }
}

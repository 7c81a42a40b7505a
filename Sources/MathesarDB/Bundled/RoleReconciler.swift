import Glibc
import MathesarInit
import PostgresClient

/// The app role's password as a SCRAM verifier, prepared before the server
/// is up. The verifier set at the last boot is kept in the volume (the same
/// secret-equivalent pg_authid holds in PGDATA); when it still matches the
/// password and pg_authid, boot changes nothing.
struct PreparedPassword {
    let verifier: String
    /// The verifier from the last boot still matches the password.
    let reused: Bool
    /// Whether a verifier (pg_authid's) was made from this password.
    let isVerifierOfPassword: (String) -> Bool

    static func fileName(in secretsDirectory: String) -> String { secretsDirectory + "/postgres_password.scram" }

    static func prepare(password: String, secretsDirectory: String) -> PreparedPassword? {
        if let stored = readTextFile(fileName(in: secretsDirectory))?.split(separator: "\n").first.map(String.init),
           ScramVerifier.matches(stored, password: password) {
            return PreparedPassword(verifier: stored, reused: true, isVerifierOfPassword: { ScramVerifier.matches($0, password: password) })
        }
        return ScramVerifier.make(password: password).map {
            PreparedPassword(verifier: $0, reused: false, isVerifierOfPassword: { ScramVerifier.matches($0, password: password) })
        }
    }

    func persist(secretsDirectory: String) {
        guard !reused else { return }
        _ = AtomicFile.write(path: PreparedPassword.fileName(in: secretsDirectory), contents: Array((verifier + "\n").utf8),
                             mode: 0o600, durable: false)
    }
}

/// Makes the bundled server's role and internal database match the
/// configuration. Idempotent: every boot runs it; an unchanged setup costs
/// one query.
///
/// The app's role is `LOGIN NOSUPERUSER CREATEDB CREATEROLE`: what Mathesar
/// needs to own its databases, create new ones and manage roles, and not a
/// superuser, which could run programs as the server's OS account (`COPY ...
/// TO PROGRAM`) and read or write any file it owns. mathesar-init's own work
/// uses the bootstrap superuser `postgres`, reachable only over the 0700
/// socket. A role made SUPERUSER by an earlier version is taken down to this.
///
/// Up to PostgreSQL 15, CREATEROLE may grant any role that is not a superuser,
/// the predefined `pg_execute_server_program`, `pg_read_server_files` and
/// `pg_write_server_files` included, which give back exactly what was taken
/// away. There those three are marked superuser in pg_authid (ALTER ROLE
/// refuses predefined roles), so that only a superuser can grant them; from
/// 16 on, CREATEROLE needs ADMIN OPTION on a role to grant it. Membership in
/// them held by a role that is not a superuser is revoked on every version.
struct RoleReconciler {
    let connection: PostgresConnection
    let logger: Logger

    /// The attributes the app's role is given, in `CREATE ROLE` / `ALTER ROLE` syntax.
    static let attributes = "LOGIN NOSUPERUSER CREATEDB CREATEROLE"
    /// Predefined roles that act as the server's OS account.
    static let serverRoles = ["pg_execute_server_program", "pg_read_server_files", "pg_write_server_files"]

    /// From PostgreSQL 16 on, CREATEROLE acts only on roles it holds with
    /// ADMIN OPTION (given by itself for the roles it creates), and giving a
    /// role an object needs SET on that role. For Mathesar to manage roles as
    /// it did as a superuser: the roles it creates are also granted to it with
    /// SET and INHERIT (`createrole_self_grant`), and, when it stops being a
    /// superuser, every role that is neither a superuser nor predefined (the
    /// ones it made back then) is granted to it WITH ADMIN, INHERIT and SET; a
    /// role that is a member of it already (a grant the other way) is skipped.
    static func roleManagement(quotedRole: String, role: String, wasSuperuser: Bool) -> [String] {
        var statements = ["ALTER ROLE \(quotedRole) SET createrole_self_grant = 'set, inherit'"]
        if wasSuperuser {
            statements.append("""
                DO $$DECLARE r record; BEGIN
                  FOR r IN SELECT rolname FROM pg_catalog.pg_roles
                           WHERE NOT rolsuper AND rolname !~ '^pg_' AND rolname <> \(PostgresConnection.quoteLiteral(role))
                             AND NOT pg_catalog.pg_has_role(rolname, \(PostgresConnection.quoteLiteral(role)), 'MEMBER')
                  LOOP EXECUTE format('GRANT %I TO %I WITH ADMIN TRUE, INHERIT TRUE, SET TRUE', r.rolname, \(PostgresConnection.quoteLiteral(role))); END LOOP;
                END$$
                """)
        }
        return statements
    }

    /// Returns what it changed, for the log.
    func reconcile(role: String, password: PreparedPassword, database: String) throws(PostgresError) -> [String] {
        var notes: [String] = []
        // The bootstrap superuser cannot give up SUPERUSER; naming it as the app's role is the operator's choice.
        let bootstrap = role == BundledServer.superuser
        let state = try connection.query("""
            SELECT (SELECT rolpassword FROM pg_catalog.pg_authid WHERE rolname = $1),
                   (SELECT rolcanlogin AND (\(bootstrap ? "true" : "rolcreatedb AND rolcreaterole AND NOT rolsuper"))
                      FROM pg_catalog.pg_roles WHERE rolname = $1),
                   (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = $1),
                   (SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database WHERE datname = $2),
                   (SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = ANY ($3::text[]) AND NOT rolsuper),
                   (SELECT count(*) FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON r.oid = m.member
                     WHERE m.roleid IN (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = ANY ($3::text[]))
                       AND (NOT r.rolsuper OR r.rolname = $1))
            """, [role, database, "{" + RoleReconciler.serverRoles.joined(separator: ",") + "}"])[0]
        let quotedRole = PostgresConnection.quoteIdentifier(role)
        let attributes = bootstrap ? "LOGIN" : RoleReconciler.attributes
        // The password travels only as its verifier, and the statement is kept
        // out of the server log even if it fails. synchronous_commit off: a
        // change lost in a crash right after is made again at the next boot.
        var statements = ["SET log_statement = 'none'", "SET log_min_error_statement = 'panic'",
                          "SET log_min_duration_statement = -1", "SET synchronous_commit = off"]
        if state[1] == nil {
            statements.append("CREATE ROLE \(quotedRole) \(attributes)")
            notes.append("created role \(role) (\(attributes))")
        } else if state[1] != "t" {
            notes.append(state[2] == "t" ? "role \(role) is no longer SUPERUSER (now \(attributes))" : "role \(role) set to \(attributes)")
        }
        if state[1] != nil, let stored = state[0], stored != password.verifier, !password.isVerifierOfPassword(stored) {
            // PID 1 reads this line: the app's stored copy of the password must follow.
            notes.append(DatabaseHelper.passwordChangedNote(role))
        }
        if state[1] != "t" || state[0] != password.verifier {
            statements.append("ALTER ROLE \(quotedRole) WITH \(attributes) PASSWORD \(PostgresConnection.quoteLiteral(password.verifier))")
            if state[1] != "t", !bootstrap, connection.serverVersion >= 160000 {
                statements += RoleReconciler.roleManagement(quotedRole: quotedRole, role: role, wasSuperuser: state[2] == "t")
            }
            try connection.execute(statements.joined(separator: "; "))
        }
        if connection.serverVersion < 160000, state[4] != "0" {
            try connection.execute("UPDATE pg_catalog.pg_authid SET rolsuper = true WHERE rolname IN (\(RoleReconciler.serverRoles.map(PostgresConnection.quoteLiteral).joined(separator: ", "))) AND NOT rolsuper")
            notes.append("only a superuser may now grant \(RoleReconciler.serverRoles.joined(separator: ", ")) (PostgreSQL 15 and older let CREATEROLE grant them)")
        }
        if state[5] != "0" {
            // Only a superuser could have granted these: a leftover of the app's SUPERUSER
            // days (its own membership counts: it is about to stop being one).
            try connection.execute("""
                DO $$DECLARE m record; BEGIN
                  FOR m IN SELECT g.rolname AS granted, r.rolname AS member FROM pg_catalog.pg_auth_members a
                           JOIN pg_catalog.pg_roles g ON g.oid = a.roleid JOIN pg_catalog.pg_roles r ON r.oid = a.member
                           WHERE g.rolname IN (\(RoleReconciler.serverRoles.map(PostgresConnection.quoteLiteral).joined(separator: ", "))) AND (NOT r.rolsuper OR r.rolname = \(PostgresConnection.quoteLiteral(role)))
                  LOOP EXECUTE format('REVOKE %I FROM %I CASCADE', m.granted, m.member); END LOOP;
                END$$
                """)
            notes.append("revoked membership in \(RoleReconciler.serverRoles.joined(separator: ", ")) from \(role) and other roles that are not superusers")
        }
        if bootstrap {
            logger.warning("POSTGRES_USER=\(role) is the bundled server's bootstrap superuser, so the app connects as a superuser; choose another name to give it only CREATEDB CREATEROLE")
        }
        switch state[3] {
        case nil:
            try connection.execute("CREATE DATABASE \(PostgresConnection.quoteIdentifier(database)) OWNER \(quotedRole)")
            notes.append("created database \(database) owned by \(role)")
        case let owner? where owner != role:
            try connection.execute("ALTER DATABASE \(PostgresConnection.quoteIdentifier(database)) OWNER TO \(quotedRole)")
            notes.append("database \(database) now owned by \(role) (was \(owner))")
        default:
            break
        }
        return notes
    }
}

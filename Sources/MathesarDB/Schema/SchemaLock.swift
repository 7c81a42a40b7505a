import Glibc
import MathesarInit
import PostgresClient

/// The session-level advisory lock that serializes schema runners on one
/// database: several replicas booting at once, or a `schema` command run
/// while the container boots. Advisory locks are scoped to the database, so
/// runners on different databases never wait for each other.
///
/// Session-level (not transaction-level), because it must be held across the
/// per-file transactions and across the statements of a no-transaction file.
///
/// Taken with `pg_try_advisory_lock` and a short backoff rather than a
/// blocking `pg_advisory_lock`: a session blocked in `SELECT
/// pg_advisory_lock(...)` is a running statement with a snapshot, and
/// `CREATE INDEX CONCURRENTLY` in the holder waits for every such snapshot
/// to end, so a blocking waiter and a holder running a no-transaction file
/// deadlock (the server then kills one of them). Polling leaves the waiter
/// idle, outside any transaction, between attempts.
struct SchemaLock {
    /// "msar_sch" in ASCII, so that it reads as ours in pg_locks (classid 1836278130, objid 1601397608).
    static let key: Int64 = 0x6D73_6172_5F73_6368

    let connection: PostgresConnection

    /// Returns once the lock is held; `waiting` is called now and then while another session holds it.
    static func acquire(_ connection: PostgresConnection, waiting: (String) -> Void) throws(PostgresError) -> SchemaLock {
        let start = Instant.now()
        var delay = 0.005
        var nextReport = 1.0
        while true {
            if try connection.query("SELECT pg_catalog.pg_try_advisory_lock($1)", [String(key)]).first?.first == "t" {
                return SchemaLock(connection: connection)
            }
            let elapsed = Instant.now().seconds(since: start)
            if elapsed >= nextReport {
                waiting("waiting for the schema lock, held by \(try holder(connection)) (\(Int(elapsed)) s)")
                nextReport = nextReport < 10 ? 10 : nextReport + 10
            }
            var request = timespec(tv_sec: 0, tv_nsec: Int(delay * 1e9))
            var remaining = timespec()
            while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
            delay = min(delay * 2, 0.25)
        }
    }

    /// Who holds the lock, for the waiting message.
    static func holder(_ connection: PostgresConnection) throws(PostgresError) -> String {
        let rows = try connection.query("""
            SELECT a.pid, coalesce(nullif(a.application_name, ''), '?'), coalesce(a.client_addr::text, 'local'),
                   coalesce(left(regexp_replace(a.query, '\\s+', ' ', 'g'), 80), '')
            FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
              AND ((l.classid::bigint << 32) | l.objid::bigint) = $1
            """, [String(key)])
        guard let row = rows.first else { return "another session" }
        return "server process \(row[0] ?? "?") (\(row[1] ?? "?") from \(row[2] ?? "?"), last statement: \(row[3] ?? ""))"
    }

    func release() {
        _ = try? connection.query("SELECT pg_catalog.pg_advisory_unlock($1)", [String(SchemaLock.key)])
    }
}

import CLibPQ
import Glibc

/// Connection parameters as libpq keywords (never a conninfo string, so no
/// quoting issues and nothing secret is ever formatted into text).
public struct ConnectionParameters: Sendable {
    public var keywords: [(String, String)]

    public init(_ keywords: [(String, String)]) { self.keywords = keywords }

    public init(host: String, port: Int, database: String, user: String, password: String?,
                sslMode: String? = nil, connectTimeout: Int = 10, applicationName: String = "mathesar-init") {
        var k: [(String, String)] = [("host", host), ("port", String(port)), ("dbname", database), ("user", user)]
        if let password { k.append(("password", password)) }
        if let sslMode { k.append(("sslmode", sslMode)) }
        k.append(("connect_timeout", String(connectTimeout)))
        k.append(("application_name", applicationName))
        self.keywords = k
    }

    /// A copy with `key` set (replacing any earlier value).
    public func with(_ key: String, _ value: String) -> ConnectionParameters {
        ConnectionParameters(keywords.filter { $0.0 != key } + [(key, value)])
    }

    public func value(_ key: String) -> String? { keywords.last { $0.0 == key }?.1 }

    func withCArrays<R>(_ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let keys = keywords.map { strdupConst($0.0) } + [nil]
        let values = keywords.map { strdupConst($0.1) } + [nil]
        defer {
            for p in keys + values { free(UnsafeMutablePointer(mutating: p)) }
        }
        return keys.withUnsafeBufferPointer { k in values.withUnsafeBufferPointer { v in body(k.baseAddress!, v.baseAddress!) } }
    }
}

private func strdupConst(_ s: String) -> UnsafePointer<CChar>? { UnsafePointer(strdup(s)) }

/// An error from libpq or the server, with the server's fields when it sent them.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var sqlState: String?
    public var detail: String?
    public var hint: String?
    /// 1-based character position in the statement text, if the server gave one.
    public var position: Int?
    /// Where the error happened inside a function or DO block (PL/pgSQL's "line 3 at RAISE").
    public var context: String?
    /// For a multi-statement query: how many of its statements completed before
    /// the one that failed (0-based index of the failing statement).
    public var statementIndex: Int?

    public var description: String {
        var text = message
        if let sqlState { text = "\(text) (SQLSTATE \(sqlState))" }
        if let detail { text += "; detail: \(detail)" }
        if let hint { text += "; hint: \(hint)" }
        return text
    }

    /// The line of `sql` the error position points at. The server counts
    /// characters as code points, so scalars are counted here too (a Swift
    /// Character would merge "\r\n" and combining marks).
    public func line(in sql: String) -> Int? {
        guard let position, position > 0 else { return nil }
        var line = 1
        for (i, c) in sql.unicodeScalars.enumerated() {
            if i >= position - 1 { break }
            if c == "\n" { line += 1 }
        }
        return line
    }

    /// authentication failures and missing roles/databases, as opposed to a server that is not there.
    public var isAuthentication: Bool { sqlState == "28P01" || sqlState == "28000" || message.contains("authentication failed") }
}

/// What `PQping` found.
public enum PingResult: Equatable, Sendable {
    case ready
    /// Up but refusing connections (starting, shutting down, recovering).
    case rejecting
    case noResponse
    /// The parameters are wrong; retrying cannot help.
    case invalidParameters
}

/// The one wrapper around libpq; nothing else imports its header.
public final class PostgresConnection {
    private let handle: OpaquePointer

    private init(handle: OpaquePointer) { self.handle = handle }

    public static func connect(_ parameters: ConnectionParameters, expandDatabaseURL: Bool = false) throws(PostgresError) -> PostgresConnection {
        let conn = parameters.withCArrays { keys, values in PQconnectdbParams(keys, values, expandDatabaseURL ? 1 : 0) }
        guard let conn else { throw PostgresError(message: "out of memory creating a connection") }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = PostgresConnection.trimmed(PQerrorMessage(conn))
            PQfinish(conn)
            // libpq only gives text for connection failures; recognise the common SQLSTATEs.
            var error = PostgresError(message: message)
            if message.contains("password authentication failed") || message.contains("no password supplied") { error.sqlState = "28P01" }
            else if message.contains("does not exist") && message.contains("role") { error.sqlState = "28000" }
            else if message.contains("does not exist") && message.contains("database") { error.sqlState = "3D000" }
            throw error
        }
        return PostgresConnection(handle: conn)
    }

    public static func ping(_ parameters: ConnectionParameters, expandDatabaseURL: Bool = false) -> PingResult {
        let result = parameters.withCArrays { keys, values in PQpingParams(keys, values, expandDatabaseURL ? 1 : 0) }
        switch result {
        case PQPING_OK: return .ready
        case PQPING_REJECT: return .rejecting
        case PQPING_NO_RESPONSE: return .noResponse
        default: return .invalidParameters
        }
    }

    deinit { PQfinish(handle) }

    /// Whether the session is inside a transaction block (after BEGIN, or in a failed one).
    public var inTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    private final class NoticeHandler {
        let body: (_ severity: String, _ message: String) -> Void
        init(_ body: @escaping (String, String) -> Void) { self.body = body }
    }
    private var noticeHandler: NoticeHandler?

    /// Sends NOTICE, WARNING, INFO ... messages to `handler` instead of
    /// libpq's default, which writes them to stderr.
    public func onNotice(_ handler: @escaping (_ severity: String, _ message: String) -> Void) {
        let box = NoticeHandler(handler)
        noticeHandler = box
        PQsetNoticeReceiver(handle, { context, result in
            guard let context, let result else { return }
            let box = Unmanaged<NoticeHandler>.fromOpaque(context).takeUnretainedValue()
            let severity = PQresultErrorField(result, Int32(UInt8(ascii: "V"))).map { String(cString: $0) } ?? "NOTICE"
            let message = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) } ?? ""
            box.body(severity, message)
        }, Unmanaged.passUnretained(box).toOpaque())
    }

    /// The server's version as an integer (150004 for 15.4).
    public var serverVersion: Int { Int(PQserverVersion(handle)) }

    /// Runs one or more statements with the simple query protocol (a whole
    /// migration file at once); returns the rows of the last result.
    @discardableResult
    public func execute(_ sql: String) throws(PostgresError) -> [[String?]] {
        guard PQsendQuery(handle, sql) == 1 else {
            throw PostgresError(message: PostgresConnection.trimmed(PQerrorMessage(handle)))
        }
        return try collectResults()
    }

    /// One statement with parameters ($1, $2, ...), sent separately from the text.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> [[String?]] {
        let cParams: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { for p in cParams { free(p) } }
        let sent = cParams.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: UnsafePointer<CChar>?.self) { values in
                PQsendQueryParams(handle, sql, Int32(parameters.count), nil, values.baseAddress, nil, nil, 0)
            }
        }
        guard sent == 1 else { throw PostgresError(message: PostgresConnection.trimmed(PQerrorMessage(handle))) }
        return try collectResults()
    }

    /// Reads every result of the last query; the first error wins, but all
    /// results are consumed so that the connection stays usable.
    private func collectResults() throws(PostgresError) -> [[String?]] {
        var rows: [[String?]] = []
        var failure: PostgresError?
        var completed = 0
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK:
                rows = PostgresConnection.rows(of: result)
                completed += 1
            case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                rows = []
                completed += 1
            default:
                if failure == nil {
                    failure = PostgresConnection.error(from: result)
                    failure?.statementIndex = completed
                }
            }
        }
        if let failure { throw failure }
        return rows
    }

    private static func rows(of result: OpaquePointer) -> [[String?]] {
        let rowCount = PQntuples(result)
        let columnCount = PQnfields(result)
        var rows: [[String?]] = []
        rows.reserveCapacity(Int(rowCount))
        for r in 0..<rowCount {
            var row: [String?] = []
            for c in 0..<columnCount {
                row.append(PQgetisnull(result, r, c) == 1 ? nil : String(cString: PQgetvalue(result, r, c)))
            }
            rows.append(row)
        }
        return rows
    }

    private static func error(from result: OpaquePointer) -> PostgresError {
        func field(_ code: Int32) -> String? {
            guard let value = PQresultErrorField(result, code) else { return nil }
            return String(cString: value)
        }
        return PostgresError(
            message: field(Int32(UInt8(ascii: "M"))) ?? trimmed(PQresultErrorMessage(result)),
            sqlState: field(Int32(UInt8(ascii: "C"))),
            detail: field(Int32(UInt8(ascii: "D"))),
            hint: field(Int32(UInt8(ascii: "H"))),
            position: field(Int32(UInt8(ascii: "P"))).flatMap { Int($0) },
            context: field(Int32(UInt8(ascii: "W"))))
    }

    private static func trimmed(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "unknown error" }
        var s = String(cString: text)
        while s.last == "\n" || s.last == " " { s.removeLast() }
        return s.isEmpty ? "unknown error" : s
    }

    /// A string quoted as an SQL literal ('it''s').
    public static func quoteLiteral(_ value: String) -> String {
        "'" + value.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
    }

    /// An identifier quoted for SQL text ("my db" -> "\"my db\"").
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }
}

import Testing
@testable import MathesarInit

// The protocol of MATHESAR_SQL_UPGRADE_COMMAND (one JSON object per database
// on stdout) and the lines boot logs for it (docs/behaviour.md, "Mathesar SQL in
// user databases": `schema: sales 0.10.0 -> 0.11.0 (140 ms)`).

@Test func readsAnUpgradedDatabaseAndLogsItAsTheContractShows() throws {
    let line = #"{"database": "sales", "id": 3, "server": "db:5432", "from": "0.10.0", "to": "0.11.0", "result": "upgraded", "ms": 140}"#
    guard case .result(let result)? = SQLUpgradeLine.parse(line) else { Issue.record("not parsed"); return }
    #expect(result == SQLDatabaseResult(database: "sales", id: 3, from: "0.10.0", to: "0.11.0", outcome: .upgraded, milliseconds: 140))
    let (level, text) = try #require(result.logLine)
    #expect(level == .info)
    #expect(text == "schema: sales 0.10.0 -> 0.11.0 (140 ms)")
    #expect(result.readableLine == "sales: upgraded 0.10.0 -> 0.11.0 (140 ms)")
}

@Test func logsNoLineOfItsOwnForADatabaseAlreadyCurrent() {
    let line = #"{"database": "crm", "id": 4, "from": "0.11.0", "to": "0.11.0", "result": "current", "ms": 0}"#
    guard case .result(let result)? = SQLUpgradeLine.parse(line) else { Issue.record("not parsed"); return }
    #expect(result.outcome == .current)
    #expect(result.logLine == nil)
    #expect(result.readableLine == "crm: current (0.11.0)")
}

@Test func warnsNamingTheDatabaseAndTheReasonForAFailure() throws {
    let line = #"{"database": "hr", "id": 5, "from": null, "to": "0.11.0", "result": "failed", "ms": 12, "error": "OperationalError: timeout"}"#
    guard case .result(let result)? = SQLUpgradeLine.parse(line) else { Issue.record("not parsed"); return }
    let (level, text) = try #require(result.logLine)
    #expect(level == .warning)
    #expect(text.hasPrefix("schema: hr was not upgraded (none -> 0.11.0): OperationalError: timeout;"))
    #expect(text.contains("app keeps serving"))
}

@Test func takesAnUnknownResultForAFailure() {
    guard case .result(let result)? = SQLUpgradeLine.parse(#"{"database": "x", "result": "exploded"}"#) else { Issue.record("not parsed"); return }
    #expect(result.outcome == .failed)
    #expect(result.error == "unknown result \"exploded\"")
}

@Test func readsAStatusLine() {
    let line = #"{"database": "sales", "id": 3, "version": "0.10.0", "app_version": "0.11.0", "needs_upgrade": true}"#
    #expect(SQLUpgradeLine.parse(line) == .status(SQLDatabaseStatus(database: "sales", id: 3, version: "0.10.0", appVersion: "0.11.0", needsUpgrade: true)))
}

@Test(arguments: ["", "Applying migrations...", "{not json", #"{"role": "mathesar", "updated": 1}"#, #"["database"]"#, #"{"database": "x"}"#])
func passesOtherLinesThrough(_ line: String) {
    #expect(SQLUpgradeLine.parse(line) == nil)
}

@Test func keepsSecretsOutOfStatusJSON() {
    let result = SQLDatabaseResult(database: "d", outcome: .failed, error: "password authentication failed for \"hunter2-secret\"")
    let json = result.json(redacting: ["hunter2-secret"]).encoded()
    #expect(!json.contains("hunter2-secret"))
    #expect(json.contains("<redacted>"))
}

@Test func summarisesARunWithCountsAndTheMostSevereLevel() {
    let run = SQLUpgradeRun(action: "upgrade", secrets: [])
    for line in [#"{"database": "a", "from": "1", "to": "2", "result": "upgraded", "ms": 5}"#,
                 #"{"database": "b", "from": "2", "to": "2", "result": "current", "ms": 0}"#,
                 #"{"database": "c", "from": "1", "to": "2", "result": "failed", "ms": 1, "error": "e"}"#] {
        #expect(run.consume(line) != nil)
    }
    #expect(run.consume("plain text") == nil)
    let (level, text) = run.finish(.exited(0), stopping: false)
    #expect(level == .warning)
    #expect(text.hasPrefix("schema: Mathesar SQL of 3 databases: 1 upgraded, 1 current, 1 failed ("))
    #expect(run.state == .done)
}

@Test func aRunEndedByAStopIsStoppedNotFailed() {
    let run = SQLUpgradeRun(action: "upgrade", secrets: [])
    let (level, text) = run.finish(.signaled(15), stopping: true)
    #expect(level == .info)
    #expect(text.hasPrefix("schema: stopped before it finished"))
    #expect(run.state == .stopped)
}

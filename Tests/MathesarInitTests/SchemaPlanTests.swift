import Testing
@testable import MathesarDB
@testable import MathesarInit

@Suite struct SchemaPlanTests {
    private func file(_ version: Int, _ sql: String = "SELECT 1;") -> SchemaBundle.File {
        SchemaBundle.File(version: version, name: "f\(version)", fileName: "000\(version)_f\(version).sql", sql: sql,
                          checksum: SHA256.hex(Array(sql.utf8)), transactional: true)
    }

    private func applied(_ file: SchemaBundle.File) -> SchemaLedger.Entry {
        SchemaLedger.Entry(version: file.version, name: file.name, checksum: file.checksum, appliedAt: "2024-01-01 00:00:00+00", durationMs: 1)
    }

    private func bundle(_ files: [SchemaBundle.File]) -> SchemaBundle {
        SchemaBundle(directory: "/bundle", files: files, uninstallSQL: nil)
    }

    @Test func freshDatabaseHasEverythingPending() {
        let plan = SchemaPlan(bundle: bundle([file(1), file(2)]), ledger: [])
        #expect(plan.installed == 0 && plan.pending.map(\.version) == [1, 2] && plan.problems.isEmpty)
    }

    @Test func onlyFilesAfterTheInstalledVersionArePending() {
        let files = [file(1), file(2), file(3)]
        let plan = SchemaPlan(bundle: bundle(files), ledger: [applied(files[0]), applied(files[1])])
        #expect(plan.installed == 2 && plan.pending.map(\.version) == [3] && plan.problems.isEmpty && plan.unknown.isEmpty)
    }

    @Test func changedFileIsAProblem() {
        let original = file(1, "CREATE SCHEMA msar;")
        let edited = file(1, "CREATE SCHEMA msar; -- edited")
        let plan = SchemaPlan(bundle: bundle([edited, file(2)]), ledger: [applied(original)])
        #expect(plan.problems == [.changed(edited, applied: applied(original))])
        #expect(plan.describe(plan.problems[0], database: "sales").contains("database sales: 0001_f1.sql was changed after it was applied"))
    }

    @Test func holeInTheLedgerIsAProblem() {
        let files = [file(1), file(2), file(3)]
        let plan = SchemaPlan(bundle: bundle(files), ledger: [applied(files[0]), applied(files[2])])
        #expect(plan.problems == [.missing(version: 2, below: 3)])
    }

    @Test func versionsNewerThanTheBundleAreReported() {
        let files = [file(1), file(2)]
        let plan = SchemaPlan(bundle: bundle([files[0]]), ledger: [applied(files[0]), applied(files[1])])
        #expect(plan.installed == 2 && plan.pending.isEmpty && plan.unknown.map(\.version) == [2] && plan.problems.isEmpty)
    }

    @Test func summaryLines() {
        let outcome = SchemaMigrator.Outcome(from: 3, to: 5, applied: 2, seconds: 0.14, createdLedger: false)
        #expect(outcome.summary("sales") == "schema: sales 3 -> 5 (2 files, 140 ms)")
        let installed = SchemaMigrator.Outcome(from: 0, to: 1, applied: 1, seconds: 0.02, createdLedger: true)
        #expect(installed.summary("crm") == "schema: crm 0 -> 1 (installed, 1 file, 20 ms)")
        let current = SchemaMigrator.Outcome(from: 5, to: 5, applied: 0, seconds: 0.003, createdLedger: false)
        #expect(current.summary("sales") == "schema: sales at version 5, up to date (3 ms)")
    }
}

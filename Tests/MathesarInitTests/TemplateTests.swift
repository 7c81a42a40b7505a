import Glibc
import Testing
@testable import MathesarInit

// MARK: the template's manifest, the app's fingerprint, the migrate-state line

@Test func manifestRoundTripsAndRefusesOtherFormats() {
    let manifest = TemplateManifest(postgresMajor: 17, postgresVersion: "postgres (PostgreSQL) 17.12", locale: "C.UTF-8",
                                    encoding: "UTF8", role: "mathesar", database: "mathesar_django", appFingerprint: "ab",
                                    databaseFingerprint: nil, checksum: String(repeating: "0", count: 64), files: 3, bytes: 12345)
    #expect(TemplateManifest.parse(manifest.encoded()) == manifest)
    #expect(TemplateManifest.parse(manifest.encoded().replacingFirst("\"format\":1", with: "\"format\":2")) == nil)
    #expect(TemplateManifest.parse("{}") == nil)
}

@Test func appFingerprintFollowsContentsNotLocation() throws {
    func tree(_ content: String) -> String {
        var template = Array("/tmp/msi-fingerprint-XXXXXX".utf8CString)
        let dir = String(cString: mkdtemp(&template)!)
        mkdir(dir + "/migrations", 0o755)
        _ = AtomicFile.write(path: dir + "/migrations/0001.py", contents: Array(content.utf8), mode: 0o644, durable: false)
        mkdir(dir + "/migrations/__pycache__", 0o755)
        _ = AtomicFile.write(path: dir + "/migrations/__pycache__/x.pyc", contents: Array(dir.utf8), mode: 0o644, durable: false)
        return dir
    }
    let a = tree("one"), b = tree("one"), c = tree("two")
    defer { for dir in [a, b, c] { FileSystem.removeTree(dir) } }
    let command = ["python", "-m", "mathesar.install"]
    #expect(MigrationFingerprint.app(paths: [], migrateCommand: command) == nil)
    #expect(MigrationFingerprint.app(paths: [a], migrateCommand: command) == MigrationFingerprint.app(paths: [b], migrateCommand: command))
    #expect(MigrationFingerprint.app(paths: [a], migrateCommand: command) != MigrationFingerprint.app(paths: [c], migrateCommand: command))
    #expect(MigrationFingerprint.app(paths: [a], migrateCommand: command) != MigrationFingerprint.app(paths: [a], migrateCommand: ["other"]))
    #expect(MigrationFingerprint.app(paths: [a], migrateCommand: command) != MigrationFingerprint.app(paths: [a + "/missing"], migrateCommand: command))
}

@Test func migrationStateLineIsReadBack() {
    let line = DatabaseHelper.migrationStateLine(database: "mathesar_django", migrations: 46, fingerprint: "0123456789abcdef")
    #expect(line == "internal database mathesar_django: 46 migrations recorded (migration state 0123456789abcdef)")
    #expect(DatabaseHelper.migrationFingerprint(in: ["other", "mathesar-init | " + line]) == "0123456789abcdef")
    #expect(DatabaseHelper.migrationFingerprint(in: ["nothing here"]) == nil)
}

@Test func migrateModeIsReadFromTheEnvironment() throws {
    let config = try ConfigurationLoader.load(environment: ["MATHESAR_MIGRATE": "never", "MATHESAR_APP_FINGERPRINT_PATHS": "/a:/b/c"], isRoot: false).get()
    #expect(config.migrateMode == .never)
    #expect(config.appFingerprintPaths == ["/a", "/b/c"])
    #expect(config.templateDirectory == Configuration.defaultTemplateDirectory)
    guard case .failure(let error) = ConfigurationLoader.load(environment: ["MATHESAR_MIGRATE": "sometimes", "MATHESAR_APP_FINGERPRINT_PATHS": "relative"], isRoot: false) else {
        Issue.record("bad values were accepted")
        return
    }
    #expect(Set(error.problems.map(\.variable)) == ["MATHESAR_MIGRATE", "MATHESAR_APP_FINGERPRINT_PATHS"])
}

private extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: replacement)
        return copy
    }
}

import Glibc
import Testing
@testable import MathesarInit

// What PGDATA holds decides boot (docs/behaviour.md, the bundled server):
// empty or missing -> initdb; a cluster -> use or upgrade by major version;
// anything else -> refuse and touch nothing.

@Test func classifiesAMissingDirectoryAsEmpty() {
    let dir = TemporaryDirectory()
    #expect(ClusterDirectory.classify(dir.path + "/postgres") == .empty)
}

@Test func classifiesAnEmptyDirectoryAsEmpty() {
    let dir = TemporaryDirectory()
    #expect(ClusterDirectory.classify(dir.directory("postgres")) == .empty)
}

@Test func classifiesAnEmptyLostAndFoundAsEmpty() {
    // A fresh ext4 volume mounted as PGDATA holds only lost+found.
    let dir = TemporaryDirectory()
    let pgdata = dir.directory("postgres")
    dir.directory("postgres/lost+found")
    #expect(ClusterDirectory.classify(pgdata) == .empty)
}

@Test func classifiesANonEmptyLostAndFoundAsForeign() {
    let dir = TemporaryDirectory()
    let pgdata = dir.directory("postgres")
    dir.file("postgres/lost+found/#1234", "recovered")
    #expect(ClusterDirectory.classify(pgdata) == .foreign(entries: ["lost+found"]))
}

@Test func classifiesAClusterByItsMajorVersion() {
    let dir = TemporaryDirectory()
    let pgdata = dir.directory("postgres")
    dir.file("postgres/PG_VERSION", "15\n")
    dir.directory("postgres/base")
    #expect(ClusterDirectory.classify(pgdata) == .cluster(major: 15))
}

@Test func readsAnOldTwoPartVersionAsOlderThanAnyModernMajor() throws {
    let dir = TemporaryDirectory()
    let pgdata = dir.directory("postgres")
    dir.file("postgres/PG_VERSION", "9.6\n")
    guard case .cluster(let major) = ClusterDirectory.classify(pgdata) else {
        Issue.record("a 9.6 cluster was not recognized")
        return
    }
    #expect(major < 10)
}

@Test func classifiesOtherFilesAsForeignAndListsThem() {
    let dir = TemporaryDirectory()
    let pgdata = dir.directory("postgres")
    dir.file("postgres/notes.txt", "mine")
    dir.directory("postgres/backup")
    #expect(ClusterDirectory.classify(pgdata) == .foreign(entries: ["backup", "notes.txt"]))
}

@Test func classifiesAnUnreadablePGVersionFileAsForeign() {
    let dir = TemporaryDirectory()
    let pgdata = dir.directory("postgres")
    dir.file("postgres/PG_VERSION", "not a version\n")
    #expect(ClusterDirectory.classify(pgdata) == .foreign(entries: ["PG_VERSION"]))
}

@Test func classifiesAFileAsNotADirectory() {
    let dir = TemporaryDirectory()
    #expect(ClusterDirectory.classify(dir.file("postgres", "x")) == .notADirectory)
}

@Test func readsTheClusterStateFromPgControldata() {
    let text = """
        pg_control version number:            1300
        Database cluster state:               shut down
        pg_control last modified:             Mon 01 Jan 2024
        """
    #expect(ClusterDirectory.controlState(fromControlData: text) == "shut down")
    #expect(ClusterDirectory.controlState(fromControlData: "nothing useful") == nil)
}

// MARK: server binaries

@Test(arguments: [
    ("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", 15),
    ("postgres (PostgreSQL) 17.2", 17),
    ("postgres (PostgreSQL) 18devel", 18),
    ("postgres (PostgreSQL) 9.6.24", 9),
])
func readsTheMajorVersionFromPostgresVersionOutput(_ output: String, _ major: Int) {
    #expect(ServerBinaries.majorVersion(fromVersionOutput: output) == major)
}

@Test(arguments: ["", "psql (PostgreSQL)", "postgres 15.1", "postgres (PostgreSQL) x15"])
func findsNoMajorVersionInOtherOutput(_ output: String) {
    #expect(ServerBinaries.majorVersion(fromVersionOutput: output) == nil)
}

@Test func locatesTheNewestVersionedBinDirectory() throws {
    let dir = TemporaryDirectory()
    for version in ["13", "15", "16"] {
        dir.file("\(version)/bin/postgres", "#!/bin/sh\n", mode: 0o755)
        dir.file("\(version)/bin/initdb", "#!/bin/sh\n", mode: 0o755)
    }
    dir.file("17/bin/postgres", "#!/bin/sh\n", mode: 0o755)  // incomplete: no initdb
    let found = try ServerBinaries.locate(configured: nil, searchPath: dir.path + "/nowhere", versionsRoot: dir.path).get()
    #expect(found.directory == dir.path + "/16/bin")
    #expect(found.majorVersionFromPath == 16)
}

@Test func refusesAConfiguredBinDirectoryWithoutTheServer() {
    let dir = TemporaryDirectory()
    dir.file("bin/postgres", "#!/bin/sh\n", mode: 0o755)
    guard case .failure(let failure) = ServerBinaries.locate(configured: dir.path + "/bin", searchPath: nil, versionsRoot: dir.path) else {
        Issue.record("a bin directory without initdb was accepted")
        return
    }
    #expect(failure.code == ExitCode.configuration)
    #expect(failure.message.contains("MATHESAR_PG_BINDIR"))
    #expect(failure.message.contains("initdb"))
}

import Glibc
import Testing
@testable import MathesarInit

// The major-version upgrade's pure parts: what a boot after a crash
// does at each journal step, the journal's format, what is read from the old
// cluster, and the pg_createcluster layout's configuration rewrite.

private func journal(_ step: UpgradeJournal.Step) -> UpgradeJournal {
    var j = UpgradeJournal(oldMajor: 15, newMajor: 16, oldBinDirectory: "/usr/lib/postgresql/15/bin",
                           newBinDirectory: "/opt/pg16/bin", requestedMode: .auto, keepOld: false)
    j.step = step
    return j
}

@Test(arguments: [UpgradeJournal.Step.started, .inspecting, .initializing, .checking, .upgrading])
func crashBeforeTheSwapRollsBack(step: UpgradeJournal.Step) {
    for new in [UpgradeRecovery.Directory.missing, .other, .cluster(major: 16)] {
        #expect(UpgradeRecovery.decide(journal(step), pgdata: .cluster(major: 15), new: new, old: .missing, serverMajor: 16) == .rollBack)
    }
    // Also with the old image back: undoing needs no new binaries.
    #expect(UpgradeRecovery.decide(journal(step), pgdata: .cluster(major: 15), new: .other, old: .missing, serverMajor: 15) == .rollBack)
}

@Test func crashBeforeTheSwapWithPgdataGoneIsRefused() {
    let action = UpgradeRecovery.decide(journal(.upgrading), pgdata: .missing, new: .cluster(major: 16), old: .missing, serverMajor: 16)
    guard case .refuse(let message) = action else { Issue.record("\(action)"); return }
    #expect(message.contains("nothing was changed"))
}

@Test func crashAfterPgUpgradeRollsForwardFromEitherSideOfTheFirstRename() {
    #expect(UpgradeRecovery.decide(journal(.upgraded), pgdata: .cluster(major: 15), new: .cluster(major: 16), old: .missing, serverMajor: 16)
            == .swap(renameOld: true))
    #expect(UpgradeRecovery.decide(journal(.upgraded), pgdata: .missing, new: .cluster(major: 16), old: .cluster(major: 15), serverMajor: 16)
            == .swap(renameOld: false))
    // Both renames done, the journal not yet updated.
    #expect(UpgradeRecovery.decide(journal(.upgraded), pgdata: .cluster(major: 16), new: .missing, old: .cluster(major: 15), serverMajor: 16)
            == .finishAfterStart)
}

@Test(arguments: [UpgradeJournal.Step.swapped, .verified])
func crashAfterTheSwapFinishesAfterStart(step: UpgradeJournal.Step) {
    #expect(UpgradeRecovery.decide(journal(step), pgdata: .cluster(major: 16), new: .missing, old: .cluster(major: 15), serverMajor: 16) == .finishAfterStart)
    // The old cluster already removed (crash before the journal went).
    #expect(UpgradeRecovery.decide(journal(step), pgdata: .cluster(major: 16), new: .missing, old: .missing, serverMajor: 16) == .finishAfterStart)
}

@Test func rollingForwardNeedsTheNewVersion() {
    let action = UpgradeRecovery.decide(journal(.upgraded), pgdata: .missing, new: .cluster(major: 16), old: .cluster(major: 15), serverMajor: 15)
    guard case .refuse(let message) = action else { Issue.record("\(action)"); return }
    #expect(message.contains("needs PostgreSQL 16"))
}

@Test func journalRoundTripsThroughItsFile() throws {
    let dir = TemporaryDirectory()
    let paths = UpgradePaths(pgdata: dir.path + "/postgres")
    var j = journal(.started)
    j.transfer = .copy
    try j.advance(to: .checking, paths)
    guard case .success(let loaded?) = UpgradeJournal.load(paths) else { Issue.record("not loaded"); return }
    #expect(loaded == j)
    #expect(loaded.step == .checking && loaded.history.map(\.step) == ["started", "checking"])
    try UpgradeJournal.remove(paths)
    guard case .success(nil) = UpgradeJournal.load(paths) else { Issue.record("not removed"); return }
}

@Test func unreadableJournalTouchesNothing() {
    let dir = TemporaryDirectory()
    dir.file("postgres.upgrade.json", "{\"format\": 99}")
    guard case .failure(let failure) = UpgradeJournal.load(UpgradePaths(pgdata: dir.path + "/postgres")) else {
        Issue.record("accepted"); return
    }
    #expect(failure.code == ExitCode.volumeUnusable && failure.message.contains("nothing was changed"))
}

@Test func readsTheOldClusterFromSingleUserOutput() {
    let output = [
        "PostgreSQL stand-alone backend 15.18",
        "backend> \t 1: info\t(typeid = 25, len = -1, typmod = -1, byval = f)",
        "\t----",
        "\t 1: info = \"msi|UTF8|en_US.UTF-8|en_US.UTF-8|c|||postgres|on|16777216\"\t(typeid = 25, len = -1, typmod = -1, byval = f)",
    ]
    let fields = try! #require(OldClusterFacts.parseSingleUserOutput(output))
    let facts = OldClusterFacts(fields: fields)
    #expect(facts.initdbArguments(newMajor: 16) == ["--username=postgres", "--encoding=UTF8", "--lc-collate=en_US.UTF-8",
                                                    "--lc-ctype=en_US.UTF-8", "--data-checksums"])
    var off = facts
    off.dataChecksums = false
    #expect(off.initdbArguments(newMajor: 18).last == "--no-data-checksums")
    #expect(!off.initdbArguments(newMajor: 17).contains("--no-data-checksums"))
}

@Test func icuClustersKeepTheirProvider() {
    let facts = OldClusterFacts(fields: ["UTF8", "C", "C", "i", "und-x-icu", "", "admin", "off", "33554432"])
    let arguments = facts.initdbArguments(newMajor: 17)
    #expect(arguments.contains("--locale-provider=icu") && arguments.contains("--icu-locale=und-x-icu"))
    #expect(arguments.contains("--username=admin") && arguments.contains("--wal-segsize=32"))
}

@Test func spaceNeededDependsOnTheMode() {
    let gb: UInt64 = 1_000_000_000
    #expect(UpgradePlan.neededBytes(clusterBytes: gb, mode: .copy) > gb)
    #expect(UpgradePlan.neededBytes(clusterBytes: gb, mode: .link) < gb / 4)
    #expect(formatBytes(1_234_000_000) == "1.2 GB" && formatBytes(640_000_000) == "640 MB" && formatBytes(512) == "512 B")
}

@Test func debianSettingsThatPointOutsidePgdataBecomeComments() {
    let conf = """
        data_directory = '/var/lib/postgresql/mathesar'\t\t# use data in another directory
        hba_file = '/etc/postgresql/15/mathesar/pg_hba.conf'
        port = 5432
        ssl = on
        ssl_cert_file = '/nonexistent/snakeoil.pem'
        #external_pid_file = 'commented already'
        shared_buffers = 128MB
        """
    let (out, changed) = DebianClusterLayout.rewriteSettings(conf, pgdata: "/var/lib/postgresql/mathesar", source: "/etc")
    #expect(changed == ["data_directory", "hba_file", "ssl", "ssl_cert_file"])
    #expect(out.contains("# (mathesar-init) data_directory") && out.contains("\nport = 5432\n"))
    #expect(out.contains("\nshared_buffers = 128MB"))
}

@Test func findsTheConfigurationThatNamesPgdata() {
    let dir = TemporaryDirectory()
    dir.file("etc/15/main/postgresql.conf", "data_directory = '/elsewhere'\n")
    dir.file("etc/15/mathesar/postgresql.conf", "data_directory = '/var/lib/postgresql/mathesar/'  # trailing slash\n")
    #expect(DebianClusterLayout.findConfigDirectory(pgdata: "/var/lib/postgresql/mathesar", major: 15, root: dir.path + "/etc")
            == dir.path + "/etc/15/mathesar")
    #expect(DebianClusterLayout.findConfigDirectory(pgdata: "/nowhere", major: 15, root: dir.path + "/etc") == nil)
}

@Test func parsesPostgresqlConfLines() {
    #expect(DebianClusterLayout.setting(in: "  listen_addresses = '*'  # comment")! == ("listen_addresses", "*"))
    #expect(DebianClusterLayout.setting(in: "include_dir 'conf.d'")! == ("include_dir", "conf.d"))
    #expect(DebianClusterLayout.setting(in: "search_path = '\"$user\", public'")! == ("search_path", "\"$user\", public"))
    #expect(DebianClusterLayout.setting(in: "a = 'it''s'")! == ("a", "it's"))
    #expect(DebianClusterLayout.setting(in: "# port = 5432") == nil)
}

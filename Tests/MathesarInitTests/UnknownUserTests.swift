import Testing
@testable import MathesarInit

// PID 1 as a uid without a passwd entry: when PostgreSQL's programs get an
// entry through nss_wrapper, and what boot says when they cannot.

private let passwd = "root:x:0:0:root:/root:/bin/bash\n# comment:x:12345\npostgres:x:999:999::/var/lib/postgresql:/bin/bash\n"

@Suite struct UnknownUserDetection {
    @Test func rootAndKnownUidsNeedNothing() throws {
        #expect(try UnknownUser.detect(runDirectory: "/run/m", uid: 0, gid: 0, passwd: passwd, libraryExists: { _ in true }).get() == nil)
        #expect(try UnknownUser.detect(runDirectory: "/run/m", uid: 999, gid: 0, passwd: passwd, libraryExists: { _ in true }).get() == nil)
    }

    @Test func anUnknownUidGetsTheWrapper() throws {
        let found = try #require(try UnknownUser.detect(runDirectory: "/run/m", uid: 12345, gid: 0, passwd: passwd,
                                                        libraryExists: { $0 == "/usr/lib/aarch64-linux-gnu/libnss_wrapper.so" }).get())
        #expect(found.library == "/usr/lib/aarch64-linux-gnu/libnss_wrapper.so")
        #expect(found.environment == ["LD_PRELOAD": found.library, "NSS_WRAPPER_PASSWD": "/run/m/nss/passwd",
                                      "NSS_WRAPPER_GROUP": "/run/m/nss/group"])
        #expect(found.passwdLine(home: "/var/lib/mathesar/postgres") == "postgres:x:12345:0:PostgreSQL (mathesar-init):/var/lib/mathesar/postgres:/bin/false\n")
        #expect(found.groupLine == "postgres:x:0:\n")
    }

    @Test func withoutTheLibraryBootSaysWhatToDo() {
        guard case .failure(let failure) = UnknownUser.detect(runDirectory: "/run/m", uid: 12345, gid: 0, passwd: passwd,
                                                             libraryExists: { _ in false }) else {
            Issue.record("detected without a library"); return
        }
        #expect(failure.code == ExitCode.configuration)
        #expect(failure.message.contains("uid 12345, which has no entry in /etc/passwd"))
        #expect(failure.message.contains("apt-get install libnss-wrapper") && failure.message.contains("POSTGRES_HOST"))
    }
}

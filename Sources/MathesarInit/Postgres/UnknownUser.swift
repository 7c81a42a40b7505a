import Glibc

/// PID 1 as an arbitrary uid with no passwd entry (`docker run --user
/// 12345:0`, OpenShift's restricted policy). PostgreSQL's programs look the
/// current user up and refuse to run without an entry ("initdb: could not
/// look up effective user ID 12345"), a check worth keeping: instead of
/// patching it out, they get one, as the official postgres image does, from
/// nss_wrapper (Debian: libnss-wrapper) preloaded with a passwd and a group
/// file of one line each in the run directory. Only PostgreSQL's programs get
/// it; root, and a uid the system knows, need nothing.
public struct UnknownUser: Equatable, Sendable {
    public let uid: uid_t
    public let gid: gid_t
    public let library: String
    public let directory: String

    /// Where Debian and others install the library (multiarch first).
    static let libraryCandidates = [
        "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib/arm-linux-gnueabihf",
        "/usr/lib/powerpc64le-linux-gnu", "/usr/lib/s390x-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib",
    ].map { $0 + "/libnss_wrapper.so" }

    /// The account name the passwd line gives the uid: the one PostgreSQL's
    /// tools expect, and the bootstrap superuser's (`BundledServer.superuser`).
    static let accountName = BundledServer.superuser

    /// nil when nothing is needed (root, or the uid has a passwd entry);
    /// a failure saying what to do when the library is missing.
    public static func detect(runDirectory: String, uid: uid_t = geteuid(), gid: gid_t = getegid(),
                              passwd: String? = readTextFile("/etc/passwd"),
                              libraryExists: (String) -> Bool = { FileIO.exists($0) }) -> Result<UnknownUser?, Failure> {
        if uid == 0 || hasEntry(uid: uid, passwd: passwd ?? "") { return .success(nil) }
        guard let library = libraryCandidates.first(where: libraryExists) else {
            return .failure(Failure(ExitCode.configuration,
                "PID 1 runs as uid \(uid), which has no entry in /etc/passwd, and PostgreSQL's programs (initdb, postgres) refuse to run as a user they cannot look up; install nss_wrapper in the image (Debian: apt-get install libnss-wrapper; looked for \(libraryCandidates[0]) and the other usual places) so that mathesar-init can give the uid an entry, or add the uid to /etc/passwd, or run with an external database (POSTGRES_HOST)"))
        }
        return .success(UnknownUser(uid: uid, gid: gid, library: library, directory: runDirectory + "/nss"))
    }

    static func hasEntry(uid: uid_t, passwd: String) -> Bool {
        passwd.split(separator: "\n").contains { line in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            return fields.count >= 3 && !line.hasPrefix("#") && UInt32(fields[2]) == uid
        }
    }

    public var passwdPath: String { directory + "/passwd" }
    public var groupPath: String { directory + "/group" }

    /// The one line each file holds.
    func passwdLine(home: String) -> String { "\(Self.accountName):x:\(uid):\(gid):PostgreSQL (mathesar-init):\(home):/bin/false\n" }
    var groupLine: String { "\(Self.accountName):x:\(gid):\n" }

    /// Writes both files (replaced whole, so a second boot in the same run
    /// directory finds them right).
    public func install(home: String) throws(Failure) {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw Failure(ExitCode.volumeUnusable, "cannot create \(directory) (MATHESAR_RUN_DIR): \(lastErrnoText())")
        }
        for (path, text) in [(passwdPath, passwdLine(home: home)), (groupPath, groupLine)] {
            if let why = AtomicFile.write(path: path, contents: Array(text.utf8), mode: 0o644, durable: false) {
                throw Failure(ExitCode.volumeUnusable, "cannot write \(path), the passwd entry PostgreSQL's programs need for uid \(uid): \(why)")
            }
        }
    }

    /// What PostgreSQL's programs get on top of their environment.
    public var environment: [String: String] {
        ["LD_PRELOAD": library, "NSS_WRAPPER_PASSWD": passwdPath, "NSS_WRAPPER_GROUP": groupPath]
    }
}

import CSystemShims
import Glibc

/// posix_spawn cannot change the user, so a child that must run as another
/// account is spawned as `mathesar-init __exec-as UID:GID:GROUPS PATH ARGV...`:
/// this binary, started clean by posix_spawn, drops privileges and execs the
/// real program. Nothing secret is on that argv; the environment passes through.
public enum PrivilegeDrop {
    static let marker = "__exec-as"

    /// The program and argv that run `spec` as `user`.
    static func wrap(executable: String, arguments: [String], user: UserIdentity, selfPath: String) -> (String, [String]) {
        let ids = "\(user.uid):\(user.gid):" + user.groups.map(String.init).joined(separator: ",")
        return (selfPath, [selfPath, marker, ids, executable] + arguments)
    }

    /// Call first thing in `main`: when this process is a trampoline, it
    /// becomes the target program and never returns.
    public static func execIfRequested(_ argv: [String]) {
        guard argv.count >= 5, argv[1] == marker else { return }
        let ids = argv[2].split(separator: ":", omittingEmptySubsequences: false)
        guard ids.count == 3, let uid = UInt32(ids[0]), let gid = UInt32(ids[1]) else {
            fail("malformed \(marker) arguments", code: ExitCode.internalError)
        }
        let groups = ids[2].split(separator: ",").compactMap { UInt32($0) }
        let path = argv[3]
        let rc = groups.withUnsafeBufferPointer { msi_drop_privileges(uid, gid, $0.baseAddress, $0.count) }
        guard rc == 0 else {
            fail("cannot switch to uid \(uid) gid \(gid): \(errnoText(rc))", code: ExitCode.commandNotExecutable)
        }
        let targetArgs = Array(argv[4...])
        withCStringArray(targetArgs) { argvPointer in
            _ = execv(path, argvPointer)
        }
        let code = errno == ENOENT ? ExitCode.commandNotFound : ExitCode.commandNotExecutable
        fail("cannot execute \(path) as uid \(uid): \(lastErrnoText())", code: code)
    }

    private static func fail(_ message: String, code: Int32) -> Never {
        FileIO.writeAll(2, Array("mathesar-init: \(message)\n".utf8))
        _exit(code)
    }
}

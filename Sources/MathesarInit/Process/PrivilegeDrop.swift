import CSystemShims
import Glibc

/// posix_spawn cannot change the user, so a child that must run as another
/// account is spawned as `mathesar-init __exec-as UID:GID:GROUPS:GAIN PATH ARGV...`:
/// this binary, started clean by posix_spawn, drops privileges and execs the
/// real program. Nothing secret is on that argv; the environment passes through.
///
/// Unless GAIN is `setuid`, the child can never get privileges back: the
/// capability bounding set is emptied while still root, and no_new_privs is
/// set, so a setuid-root program or one with file capabilities runs with the
/// child's own rights (`sudo`, `su`, `ping` with caps gain nothing).
public enum PrivilegeDrop {
    static let marker = "__exec-as"
    static let allowGain = "setuid"
    static let noGain = "nnp"

    /// The program and argv that run `spec` as `user`.
    static func wrap(executable: String, arguments: [String], user: UserIdentity, selfPath: String,
                     allowPrivilegeGain: Bool = false) -> (String, [String]) {
        let ids = "\(user.uid):\(user.gid):" + user.groups.map(String.init).joined(separator: ",")
            + ":" + (allowPrivilegeGain ? allowGain : noGain)
        return (selfPath, [selfPath, marker, ids, executable] + arguments)
    }

    /// Call first thing in `main`: when this process is a trampoline, it
    /// becomes the target program and never returns.
    public static func execIfRequested(_ argv: [String]) {
        guard argv.count >= 5, argv[1] == marker else { return }
        let ids = argv[2].split(separator: ":", omittingEmptySubsequences: false)
        guard ids.count == 4, let uid = UInt32(ids[0]), let gid = UInt32(ids[1]),
              ids[3] == allowGain || ids[3] == noGain else {
            fail("malformed \(marker) arguments", code: ExitCode.internalError)
        }
        let groups = ids[2].split(separator: ",").compactMap { UInt32($0) }
        let path = argv[3]
        let mayGain = ids[3] == allowGain
        if !mayGain { msi_restrict_privilege_gain() }
        let rc = groups.withUnsafeBufferPointer { msi_drop_privileges(uid, gid, $0.baseAddress, $0.count) }
        guard rc == 0 else {
            fail("cannot switch to uid \(uid) gid \(gid): \(errnoText(rc))", code: ExitCode.commandNotExecutable)
        }
        if !mayGain {
            let nnp = msi_set_no_new_privs()
            guard nnp == 0 else { fail("cannot set no_new_privs for \(path): \(errnoText(nnp))", code: ExitCode.commandNotExecutable) }
        }
        let targetArgs = Array(argv[4...])
        withCStringArray(targetArgs) { argvPointer in
            _ = execv(path, argvPointer)
        }
        let code = errno == ENOENT ? ExitCode.commandNotFound : ExitCode.commandNotExecutable
        fail("cannot execute \(path) as uid \(uid): \(lastErrnoText())", code: code)
    }

    /// For PID 1 and the database helper, which hold both secrets: no core
    /// dump and no ptrace or /proc/PID/mem by their own uid. Children get the
    /// core limit back (see msi_spawn) and exec resets dumpable.
    public static func keepMemoryPrivate() {
        _ = msi_harden_process()
    }

    private static func fail(_ message: String, code: Int32) -> Never {
        FileIO.writeAll(2, Array("mathesar-init: \(message)\n".utf8))
        _exit(code)
    }
}

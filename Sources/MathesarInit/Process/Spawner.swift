import CSystemShims
import Glibc

/// Starts children with posix_spawn: clean signal mask, default dispositions,
/// their own session and process group, only fds 0-2.
struct Spawner {
    let selfPath: String
    let isRoot: Bool

    struct Spawned {
        var pid: pid_t
        /// Read ends of the child's stdout and stderr pipes (tagged output only).
        var stdoutFD: Int32?
        var stderrFD: Int32?
    }

    func spawn(_ spec: ProcessSpec) throws(Failure) -> Spawned {
        var executable = spec.executable
        var arguments = spec.arguments
        if let user = spec.user, isRoot, user.uid != 0 || user.gid != 0 {
            (executable, arguments) = PrivilegeDrop.wrap(
                executable: spec.executable, arguments: spec.arguments, user: user, selfPath: selfPath,
                allowPrivilegeGain: spec.allowPrivilegeGain)
        }

        var stdio: [Int32] = [spec.stdin == .inherit ? 0 : -1, 1, 2]
        if case .file(let path) = spec.stdin {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw Failure(ExitCode.internalError, "cannot open \(path) for \(spec.source): \(lastErrnoText())") }
            stdio[0] = fd
        }
        defer { if case .file = spec.stdin { close(stdio[0]) } }
        var readEnds: [Int32] = []
        var writeEnds: [Int32] = []
        if spec.output != .inherit {
            for target in 1...2 {
                var fds: [Int32] = [-1, -1]
                guard msi_pipe_cloexec(&fds) == 0 else {
                    for fd in readEnds + writeEnds { close(fd) }
                    throw Failure(ExitCode.internalError, "cannot create a pipe for \(spec.source): \(lastErrnoText())")
                }
                _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
                readEnds.append(fds[0])
                writeEnds.append(fds[1])
                stdio[target] = fds[1]
            }
        }
        defer { for fd in writeEnds { close(fd) } }

        var pid: pid_t = 0
        let rc = withCStringArray(arguments) { argv in
            withCStringArray(environmentStrings(spec.environment)) { envp in
                stdio.withUnsafeBufferPointer { fds in
                    if let cwd = spec.workingDirectory {
                        return msi_spawn(&pid, executable, argv, envp, fds.baseAddress, cwd)
                    }
                    return msi_spawn(&pid, executable, argv, envp, fds.baseAddress, nil)
                }
            }
        }
        guard rc == 0 else {
            for fd in readEnds { close(fd) }
            let code = rc == ENOENT ? ExitCode.commandNotFound : ExitCode.commandNotExecutable
            throw Failure(code, "cannot start \(spec.source) (\(spec.executable)): \(errnoText(rc))")
        }
        return Spawned(pid: pid, stdoutFD: readEnds.first, stderrFD: readEnds.last)
    }
}

/// The environment as `KEY=VALUE` strings, sorted so children see a stable order.
func environmentStrings(_ environment: [String: String]) -> [String] {
    environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
}

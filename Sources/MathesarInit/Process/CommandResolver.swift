import Glibc

/// Finds the program of a command the way `execvp` would, before spawning,
/// so that a missing or non-executable program is reported with its path
/// (exit 127 or 126, the shell's codes) instead of as a crash of the child.
public enum CommandResolver {
    public enum Problem: Error, Equatable {
        case notFound(name: String, searchPath: String)
        case notExecutable(path: String, reason: String)

        public var exitCode: Int32 {
            switch self {
            case .notFound: ExitCode.commandNotFound
            case .notExecutable: ExitCode.commandNotExecutable
            }
        }

        public var message: String {
            switch self {
            case .notFound(let name, let searchPath):
                "\(name): command not found (searched PATH=\(searchPath)); install it or give its absolute path"
            case .notExecutable(let path, let reason):
                "\(path): cannot be executed (\(reason)); check the file's mode and owner"
            }
        }
    }

    public static let defaultSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The absolute path of `name`, searched in `searchPath` when it has no slash.
    public static func resolve(_ name: String, searchPath: String?, user: UserIdentity?) -> Result<String, Problem> {
        if name.contains("/") { return check(name, user: user) }
        let path = (searchPath?.isEmpty == false ? searchPath! : defaultSearchPath)
        var firstProblem: Problem?
        for dir in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + name
            switch check(candidate, user: user) {
            case .success(let found): return .success(found)
            case .failure(.notFound): continue
            case .failure(let problem): if firstProblem == nil { firstProblem = problem }
            }
        }
        return .failure(firstProblem ?? .notFound(name: name, searchPath: path))
    }

    static func check(_ path: String, user: UserIdentity?) -> Result<String, Problem> {
        var st = stat()
        guard stat(path, &st) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return .failure(.notFound(name: path, searchPath: "")) }
            return .failure(.notExecutable(path: path, reason: lastErrnoText()))
        }
        if (st.st_mode & S_IFMT) == S_IFDIR { return .failure(.notExecutable(path: path, reason: "it is a directory")) }
        let who = user.map { "user \($0.name)" } ?? "this user"
        guard isExecutable(mode: st.st_mode, owner: st.st_uid, group: st.st_gid, user: user) else {
            return .failure(.notExecutable(path: path, reason: "no execute permission for \(who)"))
        }
        // The app may run as another user than PID 1: every directory on the
        // way to the real file must be searchable for it too.
        if let user, user.uid != 0, let real = realpath(path, nil) {
            defer { free(real) }
            var dir = AtomicFile.parentDirectory(of: String(cString: real))
            while true {
                var d = stat()
                if stat(dir, &d) == 0, !isExecutable(mode: d.st_mode, owner: d.st_uid, group: d.st_gid, user: user) {
                    return .failure(.notExecutable(path: path, reason: "\(dir) is not searchable for \(who)"))
                }
                if dir == "/" { break }
                dir = AtomicFile.parentDirectory(of: dir)
            }
        }
        return .success(path)
    }

    static func currentGroups() -> [gid_t] {
        var groups = [gid_t](repeating: 0, count: 256)
        let n = getgroups(Int32(groups.count), &groups)
        return [getgid()] + (n > 0 ? Array(groups[0..<Int(n)]) : [])
    }

    static func isExecutable(mode: mode_t, owner: uid_t, group: gid_t, user: UserIdentity?) -> Bool {
        let uid = user?.uid ?? getuid()
        let groups = user?.groups ?? currentGroups()
        let anyExecute = mode & (S_IXUSR | S_IXGRP | S_IXOTH) != 0
        if uid == 0 { return anyExecute }
        if owner == uid { return mode & S_IXUSR != 0 }
        if groups.contains(group) { return mode & S_IXGRP != 0 }
        return mode & S_IXOTH != 0
    }
}

import Glibc

/// Where the bundled server's programs are: `MATHESAR_PG_BINDIR`, else the
/// newest `/usr/lib/postgresql/*/bin`, else the directory of `postgres` on PATH.
public struct ServerBinaries: Equatable, Sendable {
    public var directory: String
    /// How it was found, for log lines and `check`.
    public var origin: String

    public func path(_ program: String) -> String { directory + "/" + program }

    public static let required = ["postgres", "initdb"]

    public static func locate(configured: String?, searchPath: String?, versionsRoot: String = "/usr/lib/postgresql") -> Result<ServerBinaries, Failure> {
        if let configured {
            let found = ServerBinaries(directory: configured, origin: "MATHESAR_PG_BINDIR")
            if let missing = found.missing().first {
                return .failure(Failure(ExitCode.configuration, "MATHESAR_PG_BINDIR=\"\(configured)\": \(missing) is missing or not executable there; point it at a PostgreSQL bin directory (example: MATHESAR_PG_BINDIR=/usr/lib/postgresql/15/bin)"))
            }
            return .success(found)
        }
        let versions = (FileIO.list(versionsRoot) ?? []).compactMap { Int($0) }.sorted(by: >)
        for version in versions {
            let candidate = ServerBinaries(directory: "\(versionsRoot)/\(version)/bin", origin: "newest in \(versionsRoot)")
            if candidate.missing().isEmpty { return .success(candidate) }
        }
        if case .success(let postgres) = CommandResolver.resolve("postgres", searchPath: searchPath, user: nil) {
            let candidate = ServerBinaries(directory: AtomicFile.parentDirectory(of: postgres), origin: "PATH")
            if candidate.missing().isEmpty { return .success(candidate) }
        }
        return .failure(Failure(ExitCode.configuration, "no PostgreSQL server found (looked in MATHESAR_PG_BINDIR, \(versionsRoot)/*/bin and PATH); install the server (\(ServerPackageAdvice.install(major: ServerPackageAdvice.codename().flatMap { ServerPackageAdvice.debianMajors[$0] } ?? 17, directory: "/usr/lib/postgresql/17/bin"))) or set MATHESAR_PG_BINDIR, or set POSTGRES_HOST to use an external database"))
    }

    /// Required programs that are not there.
    public func missing(_ programs: [String] = ServerBinaries.required) -> [String] {
        programs.filter { access(path($0), X_OK) != 0 }
    }

    /// The server's major version: from a Debian-style path, else by running `postgres --version`.
    public func majorVersion(tasks: any TaskRunner, user: UserIdentity?) throws(Interruption) -> Result<Int, Failure> {
        if let major = majorVersionFromPath { return .success(major) }
        let postgres = path("postgres")
        let result = try tasks.run(ProcessSpec(
            source: "postgres", executable: postgres, arguments: [postgres, "--version"],
            environment: ["PATH": CommandResolver.defaultSearchPath], user: user, output: .captured))
        guard result.status.succeeded, let major = ServerBinaries.majorVersion(fromVersionOutput: result.lines.joined(separator: "\n")) else {
            return .failure(Failure(ExitCode.configuration, "\(postgres) --version \(result.status) and printed no version (\(result.lines.joined(separator: " "))); check MATHESAR_PG_BINDIR"))
        }
        return .success(major)
    }

    /// The major version from `postgres --version` output ("postgres (PostgreSQL) 15.18 (Debian ...)").
    public static func majorVersion(fromVersionOutput text: String) -> Int? {
        guard let range = text.firstRange(of: "(PostgreSQL) ") else { return nil }
        let digits = text[range.upperBound...].prefix { $0.isNumber }
        return Int(digits)
    }

    /// The major version a Debian-style path names (/usr/lib/postgresql/15/bin), to avoid running the binary.
    public var majorVersionFromPath: Int? {
        let parts = directory.split(separator: "/")
        guard parts.count >= 2, parts.last == "bin" else { return nil }
        return Int(parts[parts.count - 2])
    }
}

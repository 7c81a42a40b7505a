import Glibc

/// Where boot takes the app's `SECRET_KEY` from, decided before anything is
/// written. Mathesar encrypts the database passwords it stores with that key,
/// so a volume that already holds Mathesar's data must keep its key: from
/// the volume, from where Mathesar's own image kept it
/// (`/code/.secrets/secret_key.txt`), or from the user; a new key is made
/// only for a new volume, or when the user says the stored passwords may be lost.
public enum SecretKeySource: Equatable, Sendable {
    /// `SECRET_KEY` or `SECRET_KEY_FILE`.
    case given
    /// `$MATHESAR_DATA_DIR/secrets/secret_key`, kept by an earlier boot.
    case volume
    /// Mathesar's image's `secret_key.txt`: used, and persisted into the volume.
    case legacy(path: String, value: String)
    /// A new key, persisted into the volume.
    case generate

    public static let legacyFileName = "secret_key.txt"

    /// - Parameter clusterExists: bundled mode with a cluster in PGDATA (its
    ///   internal database may hold passwords encrypted with the old key).
    public static func decide(config: Configuration, clusterExists: Bool) -> Result<SecretKeySource, Failure> {
        guard case .persisted(let name) = config.secretKey else { return .success(.given) }
        let kept = config.secretsDirectory + "/" + name
        var st = stat()
        if lstat(kept, &st) == 0 { return .success(.volume) }
        let legacy = config.app.legacySecretsDirectory + "/" + legacyFileName
        switch readLegacy(legacy) {
        case .found(let value): return .success(.legacy(path: legacy, value: value))
        case .unusable(let why):
            return .failure(Failure(ExitCode.configuration, "SECRET_KEY is not set and \(legacy) (MATHESAR_LEGACY_SECRETS_DIR), the key Mathesar's image kept, \(why); nothing was written. Fix the file, or set SECRET_KEY_FILE to a copy of the old key"))
        case .missing: break
        }
        guard clusterExists, !config.app.allowNewSecretKey else { return .success(.generate) }
        return .failure(Failure(ExitCode.configuration, """
            SECRET_KEY is not set and no key was found, but PGDATA=\(config.pgdata) already holds a PostgreSQL cluster: \
            the database passwords Mathesar stored in it are encrypted with the key it was used with, and a new key would make \
            every one of them unreadable (login would still work, every database connection would fail); nothing was written. \
            Mathesar's own image kept its key in /code/.secrets/\(legacyFileName) (outside its volumes); mathesar-init keeps it \
            in \(kept). To proceed: mount the old .secrets directory at \(config.app.legacySecretsDirectory) \
            (MATHESAR_LEGACY_SECRETS_DIR), or set SECRET_KEY_FILE to the old key file; or, if the stored database connections \
            may be lost (they can be entered again in Mathesar), set MATHESAR_ALLOW_NEW_SECRET_KEY=true to generate a new key
            """))
    }

    enum LegacyRead: Equatable {
        case found(String)
        case missing
        case unusable(String)
    }

    /// Reads the legacy key without following a symbolic link (the
    /// directory is the user's; root must not read what a link points at).
    static func readLegacy(_ path: String) -> LegacyRead {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { return .missing }
            if errno == ELOOP { return .unusable("is a symbolic link (mathesar-init does not follow it); copy the file there instead") }
            return .unusable("cannot be read (\(lastErrnoText()))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return .unusable("is not a regular file") }
        guard st.st_size <= 4096 else { return .unusable("is larger than 4 KiB; it must hold only the key") }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size) + 1)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { return .unusable("cannot be read (\(lastErrnoText()))") }
        var trimmed = Array(bytes[0..<n])
        while trimmed.last == 0x0A || trimmed.last == 0x0D { trimmed.removeLast() }
        guard !trimmed.isEmpty, !trimmed.contains(0x0A), !trimmed.contains(0),
              let text = String(validating: trimmed, as: UTF8.self) else {
            return .unusable("is empty or not a single line of text")
        }
        return .found(text)
    }
}

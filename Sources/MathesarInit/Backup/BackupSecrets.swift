import Glibc

/// The secrets a backup carries so that a restored volume can read what the
/// app stored (its database passwords are encrypted with SECRET_KEY): the
/// files of `secrets/`, read without following links, and SECRET_KEY when it
/// is given in the environment instead.
public enum BackupSecrets {
    public static func collect(config: Configuration) -> Result<[(name: String, value: String)], Failure> {
        var found: [(name: String, value: String)] = []
        switch config.secretKey {
        case .given(let value, _):
            found.append(("secret_key", value))
        case .persisted(let name):
            switch read(config.secretsDirectory, name) {
            case .success(let value?): found.append(("secret_key", value))
            case .success(nil):
                return .failure(Failure(ExitCode.configuration, "SECRET_KEY is not set and \(config.secretsDirectory)/\(name) does not exist: a backup without the key could not read the database passwords the app stored; set SECRET_KEY (or SECRET_KEY_FILE) to the key the app uses"))
            case .failure(let failure): return .failure(failure)
            }
        }
        if case .persisted(let name)? = config.database.password, config.database.mode == .bundled {
            switch read(config.secretsDirectory, name) {
            case .success(let value?): found.append((name, value))
            case .success(nil): break
            case .failure(let failure): return .failure(failure)
            }
        }
        return .success(found)
    }

    static func read(_ directory: String, _ name: String) -> Result<String?, Failure> {
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard dirfd >= 0 else {
            return errno == ENOENT ? .success(nil) : .failure(Failure(ExitCode.volumeUnusable, "cannot open \(directory): \(lastErrnoText())"))
        }
        defer { close(dirfd) }
        switch FileSystem.readPrivateFile(in: dirfd, name: name, limit: 4096) {
        case .success(let (bytes, fd)):
            close(fd)
            var trimmed = bytes
            while trimmed.last == 0x0A || trimmed.last == 0x0D { trimmed.removeLast() }
            guard !trimmed.isEmpty, let text = String(validating: trimmed, as: UTF8.self), !text.contains("\n") else {
                return .failure(Failure(ExitCode.volumeUnusable, "the persisted secret \(directory)/\(name) is empty or not a single line of text; nothing was backed up"))
            }
            return .success(text)
        case .failure(.missing):
            return .success(nil)
        case .failure(let why):
            return .failure(Failure(ExitCode.volumeUnusable, "cannot read the persisted secret \(directory)/\(name): \(why); nothing was backed up"))
        }
    }
}

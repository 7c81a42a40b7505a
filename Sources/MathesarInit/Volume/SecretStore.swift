import CSystemShims
import Glibc

/// Secrets persisted in `$MATHESAR_DATA_DIR/secrets/`: read if present, else
/// generated from the kernel CSPRNG and written atomically (0600, the
/// directory 0700, owned by the app user), so they stay stable across restarts.
public struct SecretStore {
    public let directory: String
    public let owner: UserIdentity?

    public init(directory: String, owner: UserIdentity?) {
        self.directory = directory
        self.owner = owner
    }

    public static let length = 50
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    /// Problems with the persisted secret files that can be seen without
    /// writing anything (for `check` and before boot writes).
    public static func inspect(directory: String, names: [(file: String, variable: String)]) -> [ConfigurationProblem] {
        var problems: [ConfigurationProblem] = []
        var st = stat()
        if lstat(directory, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFLNK {
                for (_, variable) in names {
                    problems.append(ConfigurationProblem(variable: variable, value: nil, reason: "is not set, and its persisted copy's directory \(directory) is a symbolic link; mathesar-init does not follow links out of the volume; remove the link or set \(variable)"))
                }
                return problems
            }
            if (st.st_mode & S_IFMT) != S_IFDIR {
                return names.map { ConfigurationProblem(variable: $0.variable, value: nil, reason: "is not set, and \(directory), where it would be persisted, is not a directory; move it away") }
            }
        }
        for (file, variable) in names {
            let path = directory + "/" + file
            guard lstat(path, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) != S_IFREG {
                let kind = (st.st_mode & S_IFMT) == S_IFLNK ? "a symbolic link" : "not a regular file"
                problems.append(ConfigurationProblem(variable: variable, value: nil, reason: "is not set, and its persisted copy \(path) is \(kind); remove it (a new secret is generated) or set \(variable)"))
            } else if st.st_nlink > 1 {
                // A hard link shares the file with a path that may be outside the
                // volume; fixing its owner and mode would change that file too.
                problems.append(ConfigurationProblem(variable: variable, value: nil, reason: "is not set, and its persisted copy \(path) has \(st.st_nlink - 1) other hard link(s), possibly outside the volume; mathesar-init does not touch shared files; replace it with a copy (cp --remove-destination) or set \(variable)"))
            }
        }
        return problems
    }

    /// The persisted secret, generated on first use. Returns the value and whether it was generated.
    /// The directory is the app user's: the file is read, and its owner and
    /// mode fixed, through one descriptor opened without following a link,
    /// and only when it is a regular file with no other hard link.
    public func resolve(_ name: String) throws(Failure) -> (value: String, generated: Bool) {
        try DataVolume.ownedDirectory(directory, mode: 0o700, owner: owner)
        let path = directory + "/" + name
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard dirfd >= 0 else {
            throw Failure(ExitCode.volumeUnusable, "cannot open \(directory): \(lastErrnoText())")
        }
        defer { close(dirfd) }
        switch FileSystem.readPrivateFile(in: dirfd, name: name, limit: 4096) {
        case .success(let (bytes, fd)):
            defer { close(fd) }
            var trimmed = bytes
            while trimmed.last == 0x0A || trimmed.last == 0x0D { trimmed.removeLast() }
            guard !trimmed.isEmpty, let text = String(validating: trimmed, as: UTF8.self), !text.contains("\n") else {
                // Written atomically by us, so this is damage from outside; replacing
                // it silently would, for secret_key, log every user out.
                throw Failure(ExitCode.volumeUnusable, "the persisted secret \(path) is empty or not a single line of text; remove it to have a new one generated (for secret_key this signs every user out), or set the variable")
            }
            fixOwnership(fd)
            return (text, false)
        case .failure(.missing):
            break
        case .failure(let why):
            throw Failure(ExitCode.volumeUnusable, "cannot read the persisted secret \(path): \(why); remove it to have a new one generated")
        }
        let value = try SecretStore.generate()
        let owner = owner.map { (uid: $0.uid, gid: $0.gid) }
        if let problem = AtomicFile.write(path: path, contents: Array((value + "\n").utf8), mode: 0o600, durable: true,
                                          owner: geteuid() == 0 ? owner : nil) {
            throw Failure(ExitCode.volumeUnusable, "cannot persist a generated secret: \(problem)")
        }
        return (value, true)
    }

    private func fixOwnership(_ fd: Int32) {
        guard geteuid() == 0, let owner else { return }
        var st = stat()
        if fstat(fd, &st) == 0, st.st_uid != owner.uid || st.st_mode & 0o777 != 0o600 {
            _ = fchown(fd, owner.uid, owner.gid)
            _ = fchmod(fd, 0o600)
        }
    }

    /// 50 characters from [a-zA-Z0-9] (about 297 bits), by rejection sampling
    /// so every character is equally likely; safe in URLs and shell files.
    public static func generate() throws(Failure) -> String {
        var result: [Character] = []
        while result.count < length {
            var bytes = [UInt8](repeating: 0, count: 64)
            let rc = bytes.withUnsafeMutableBytes { msi_getrandom($0.baseAddress, $0.count) }
            guard rc == 0 else { throw Failure(ExitCode.internalError, "getrandom failed: \(errnoText(rc))") }
            for b in bytes where Int(b) < 248 && result.count < length {  // 248 = 4 * 62
                result.append(alphabet[Int(b) % alphabet.count])
            }
        }
        return String(result)
    }

    /// Writes a secret into the volume (atomically, 0600, the app user's): a
    /// generated one, or a key adopted from Mathesar's image.
    public func persist(_ name: String, value: String) throws(Failure) {
        try DataVolume.ownedDirectory(directory, mode: 0o700, owner: owner)
        let owner = owner.map { (uid: $0.uid, gid: $0.gid) }
        if let problem = AtomicFile.write(path: directory + "/" + name, contents: Array((value + "\n").utf8), mode: 0o600, durable: true,
                                          owner: geteuid() == 0 ? owner : nil) {
            throw Failure(ExitCode.volumeUnusable, "cannot persist the secret \(name) in \(directory): \(problem)")
        }
    }
}

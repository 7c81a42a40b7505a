import Glibc

/// Reads a backup archive and proves it whole before anything uses it: each
/// member is unpacked under a name of ours (never the archive's, which could
/// point anywhere) into a private directory, hashed on the way, and checked
/// against the manifest; the archive must end where a tar archive ends.
public struct ArchiveReader {
    public struct Verified {
        public var manifest: BackupManifest
        /// Member name -> the unpacked file.
        public var files: [String: String]
        /// Secret name -> value.
        public var secrets: [String: String]
        public var bytes: UInt64

        /// The warning for a SECRET_KEY given in the environment that is not the
        /// restored one (nil when it is, or none is given): the app could not
        /// read the passwords it stored with the restored key.
        public func keyConflictWarning(_ config: Configuration) -> String? {
            guard let given = config.secretKey.givenValue, let restored = secrets["secret_key"], given != restored else { return nil }
            return "restore: SECRET_KEY is set in the environment and differs from the key in the backup (now in \(config.secretsDirectory)/secret_key); the app cannot read the passwords it stored with the old key: unset SECRET_KEY (and SECRET_KEY_FILE) so that the restored key is used"
        }
    }

    /// Why an archive is refused; exit status 65 (EX_DATAERR: the input is bad).
    public static func refused(_ path: String, _ why: String) -> Failure {
        Failure(dataError, "restore: \(path) is not a complete mathesar-init backup: \(why); nothing was changed. Use another copy of the backup")
    }

    public static let dataError: Int32 = 65

    /// Unpacks `path` into `directory` (which must exist, empty and private).
    public static func unpack(_ path: String, into directory: String) throws(Failure) -> Verified {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(ExitCode.usage, "restore: cannot open \(path): \(lastErrnoText())") }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: TarFormat.block)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var found: [(name: String, size: UInt64, sha256: String)] = []
        var files: [String: String] = [:]
        var manifestText: String?
        var offset: UInt64 = 0
        while true {
            let n = readFully(fd, &header, count: TarFormat.block)
            guard n == TarFormat.block else { throw refused(path, n < 0 ? "it cannot be read (\(lastErrnoText()))" : "it ends after \(offset + UInt64(max(n, 0))) bytes, in the middle of the archive (truncated)") }
            offset += UInt64(n)
            guard let parsed = TarFormat.parse(header[...]) else {
                // End of archive: a second zero block must follow.
                let m = readFully(fd, &header, count: TarFormat.block)
                guard m == TarFormat.block, header.allSatisfy({ $0 == 0 }) else { throw refused(path, "its end-of-archive marker is incomplete (truncated)") }
                break
            }
            let entry: TarFormat.Entry
            switch parsed {
            case .success(let e): entry = e
            case .failure(let problem): throw refused(path, "the header at byte \(offset - 512) is damaged (\(problem))")
            }
            guard manifestText == nil else { throw refused(path, "\(entry.name) follows the manifest, which must be the last member") }
            guard !found.contains(where: { $0.name == entry.name }) else { throw refused(path, "it holds \(entry.name) twice") }
            let isManifest = entry.name == BackupManifest.memberName
            if isManifest && entry.size > 1 << 20 { throw refused(path, "its manifest is implausibly large (\(entry.size) bytes)") }
            let local = directory + "/\(found.count + 1)"
            var out: Int32 = -1
            if !isManifest {
                out = open(local, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard out >= 0 else { throw Failure(ExitCode.volumeUnusable, "restore: cannot create \(local): \(lastErrnoText())") }
            }
            var hasher = SHA256Hasher()
            var kept: [UInt8] = []
            var left = entry.size
            while left > 0 {
                let want = Int(min(left, UInt64(buffer.count)))
                let got = readFully(fd, &buffer, count: want)
                guard got == want else {
                    if out >= 0 { close(out) }
                    throw refused(path, "it ends inside \(entry.name), \(entry.size - left + UInt64(max(got, 0))) of its \(entry.size) bytes in (truncated)")
                }
                let chunk = Array(buffer[0..<got])
                hasher.update(chunk)
                if isManifest {
                    kept += chunk
                } else if !FileIO.writeAll(out, chunk) {
                    let why = errno
                    close(out)
                    throw Failure(ExitCode.volumeUnusable, "restore: cannot unpack \(entry.name) into \(directory): \(errnoText(why))\(why == ENOSPC ? "; the volume needs room for the unpacked dumps and the restored cluster (about three times the archive)" : "")")
                }
                left -= UInt64(got)
            }
            if out >= 0 { close(out) }
            offset += entry.size
            let pad = TarFormat.padding(after: entry.size)
            if pad > 0 {
                guard readFully(fd, &buffer, count: pad) == pad else { throw refused(path, "it ends inside the padding after \(entry.name) (truncated)") }
                offset += UInt64(pad)
            }
            if isManifest {
                guard let text = String(validating: kept, as: UTF8.self) else { throw refused(path, "its manifest is not UTF-8 text") }
                manifestText = text
            } else {
                found.append((entry.name, entry.size, hasher.finalizeHex()))
                files[entry.name] = local
            }
        }
        guard let manifestText else { throw refused(path, "it has no \(BackupManifest.memberName) (a tar file, but not one mathesar-init backup wrote, or cut short)") }
        let manifest: BackupManifest
        switch BackupManifest.parse(manifestText) {
        case .success(let parsed): manifest = parsed
        case .failure(let why): throw refused(path, why.message)
        }
        for member in manifest.members {
            guard let got = found.first(where: { $0.name == member.name }) else { throw refused(path, "the manifest lists \(member.name), which the archive does not hold") }
            guard got.size == member.size else { throw refused(path, "\(member.name) has \(got.size) bytes, the manifest says \(member.size)") }
            guard got.sha256 == member.sha256 else { throw refused(path, "\(member.name) does not match its checksum in the manifest (changed or damaged)") }
        }
        if let extra = found.first(where: { got in !manifest.members.contains { $0.name == got.name } }) {
            throw refused(path, "it holds \(extra.name), which the manifest does not list")
        }
        var secrets: [String: String] = [:]
        for member in manifest.members where member.kind == .secret {
            guard case .success(let bytes) = FileIO.read(files[member.name]!, limit: 4096),
                  let text = String(validating: bytes, as: UTF8.self)?.trimmingCharacters(in: "\n"), !text.isEmpty, !text.contains("\n") else {
                throw refused(path, "the secret \(member.label ?? member.name) is not one line of text")
            }
            secrets[member.label!] = text
        }
        return Verified(manifest: manifest, files: files, secrets: secrets, bytes: offset)
    }
}

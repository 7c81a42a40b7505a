import Glibc

/// Whether `$MATHESAR_DATA_DIR` is a volume: a mount of its own (or inside
/// one), not a directory on the container's root filesystem, whose content
/// is lost when the container is removed.
public enum DataDirectoryMount {
    /// Mount points listed in /proc/self/mountinfo (field 5, octal escapes decoded).
    public static func mountPoints(mountinfo: String) -> [String] {
        mountinfo.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            return fields.count > 4 ? unescape(fields[4]) : nil
        }
    }

    /// `\040` (space), `\011`, `\012`, `\134` as the kernel writes them.
    static func unescape(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        let raw = Array(field.utf8)
        var i = 0
        while i < raw.count {
            if raw[i] == 0x5C, i + 3 < raw.count,
               let value = UInt8(String(decoding: raw[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                bytes.append(value)
                i += 4
            } else {
                bytes.append(raw[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether `path` or one of its parents other than `/` is a mount point.
    public static func isInsideMount(_ path: String, mountPoints: [String]) -> Bool {
        let points = Set(mountPoints.filter { $0 != "/" })
        var current = path
        while current != "/" && !current.isEmpty {
            if points.contains(current) { return true }
            current = AtomicFile.parentDirectory(of: current)
        }
        return false
    }

    /// `path` with symbolic links of its existing part resolved (the kernel lists real paths).
    static func resolved(_ path: String) -> String {
        var existing = path
        var rest: [String] = []
        while !FileIO.exists(existing) && existing != "/" {
            rest.insert(String(existing[existing.index(after: existing.lastIndex(of: "/")!)...]), at: 0)
            existing = AtomicFile.parentDirectory(of: existing)
        }
        guard let real = realpath(existing, nil) else { return path }
        defer { free(real) }
        let base = String(cString: real)
        return rest.isEmpty ? base : (base == "/" ? "" : base) + "/" + rest.joined(separator: "/")
    }

    /// The warning boot and `check` give when the data directory is not a
    /// volume; nil when it is (or the mount table cannot be read).
    public static func warning(config: Configuration, mountinfo: String? = readTextFile("/proc/self/mountinfo")) -> String? {
        guard let mountinfo, isInsideMount(resolved(config.dataDirectory), mountPoints: mountPoints(mountinfo: mountinfo)) == false else {
            return nil
        }
        var text = "MATHESAR_DATA_DIR=\(config.dataDirectory) is not a mount of its own: it is on the container's root filesystem, so what it holds (\(config.database.mode == .bundled ? "the database, " : "")the secrets, the uploads) is lost when the container is removed. Mount a volume there (docker run -v mathesar-data:\(config.dataDirectory))"
        if config.database.mode == .external, case .persisted = config.secretKey {
            text += ". SECRET_KEY is not set, so the key generated into it changes with every new container (the database passwords Mathesar stored become unreadable), and replicas must share one key: set SECRET_KEY or SECRET_KEY_FILE to the same key everywhere"
        }
        return text
    }
}

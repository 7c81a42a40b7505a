/// `manifest.json`, the last member of a backup archive: what made it, from
/// which server, and each other member with its size and SHA-256, so that
/// `restore` can refuse a truncated or edited archive before it changes anything.
public struct BackupManifest: Equatable {
    public static let formatName = "mathesar-init backup"
    public static let formatVersion = 1
    public static let memberName = "manifest.json"

    public enum Kind: String, Equatable, Sendable {
        /// `pg_dumpall --roles-only` (bundled mode only).
        case roles
        /// `pg_dump --format=custom` of one database.
        case database
        /// A file of `$MATHESAR_DATA_DIR/secrets/` (or the SECRET_KEY given in the environment).
        case secret
        /// An upload: a regular file below `$MATHESAR_DATA_DIR/media/`. Its
        /// member is named `media/N`; its path (relative to media/) is the label.
        case media
    }

    public struct Member: Equatable {
        public var name: String
        public var kind: Kind
        /// The database's name (kind database), the secret's file name (kind
        /// secret), or the path below media/ (kind media).
        public var label: String?
        public var size: UInt64
        public var sha256: String
    }

    public var created: String
    public var mode: DatabaseMode
    public var serverVersionNumber: Int
    public var internalDatabase: String
    public var role: String
    public var members: [Member]

    public var serverMajor: Int { serverVersionNumber / 10000 }

    public func encoded() -> String {
        JSONValue.object([
            ("format", .string(Self.formatName)),
            ("format_version", .number(Double(Self.formatVersion))),
            ("created", .string(created)),
            ("mathesar_init", .string(Version.current)),
            ("mode", .string(mode.rawValue)),
            ("server_version_num", .number(Double(serverVersionNumber))),
            ("internal_database", .string(internalDatabase)),
            ("role", .string(role)),
            ("members", .array(members.map { member in
                var pairs: [(String, JSONValue)] = [("name", .string(member.name)), ("kind", .string(member.kind.rawValue))]
                if let label = member.label { pairs.append((member.kind.labelKey, .string(label))) }
                pairs += [("size", .number(Double(member.size))), ("sha256", .string(member.sha256))]
                return .object(pairs)
            })),
        ]).encoded() + "\n"
    }

    /// The manifest, or why the text is not one this version can restore.
    public static func parse(_ text: String) -> Result<BackupManifest, ManifestProblem> {
        guard let json = JSONValue.parse(text) else { return .failure(ManifestProblem("manifest.json is not valid JSON")) }
        guard json["format"]?.stringValue == formatName else { return .failure(ManifestProblem("manifest.json does not name the format \"\(formatName)\"")) }
        guard let version = json["format_version"]?.numberValue, version == Double(formatVersion) else {
            return .failure(ManifestProblem("manifest.json has format_version \(json["format_version"]?.numberValue.map { String(Int($0)) } ?? "?"); this mathesar-init restores version \(formatVersion)"))
        }
        guard let modeName = json["mode"]?.stringValue, let mode = DatabaseMode(rawValue: modeName),
              let server = json["server_version_num"]?.numberValue, server >= 90000, server < 10_000_000,
              let internalName = json["internal_database"]?.stringValue, let role = json["role"]?.stringValue,
              case .array(let items)? = json["members"] else {
            return .failure(ManifestProblem("manifest.json lacks mode, server_version_num, internal_database, role or members"))
        }
        var members: [Member] = []
        for item in items {
            guard let name = item["name"]?.stringValue, let kindName = item["kind"]?.stringValue, let kind = Kind(rawValue: kindName),
                  let size = item["size"]?.numberValue, size >= 0, size == size.rounded(),
                  let sha = item["sha256"]?.stringValue, sha.count == 64, sha.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                return .failure(ManifestProblem("manifest.json has a member without a valid name, kind, size or sha256"))
            }
            let label = kind == .roles ? nil : item[kind.labelKey]?.stringValue
            if kind != .roles && label == nil { return .failure(ManifestProblem("manifest.json: member \(name) does not say which \(kind.labelKey) it is")) }
            if kind == .media, let label, !MediaTree.isSafeRelativePath(label) {
                return .failure(ManifestProblem("manifest.json: member \(name) has the path \"\(label)\", which is not a plain path below media/"))
            }
            if kind == .secret, let label, !BackupManifest.secretNames.contains(label) {
                return .failure(ManifestProblem("manifest.json: member \(name) is the secret \(label), which mathesar-init does not keep"))
            }
            members.append(Member(name: name, kind: kind, label: label, size: UInt64(size), sha256: sha))
        }
        if Set(members.map(\.name)).count != members.count { return .failure(ManifestProblem("manifest.json names a member twice")) }
        let uploads = members.filter { $0.kind == .media }.compactMap(\.label)
        if Set(uploads).count != uploads.count { return .failure(ManifestProblem("manifest.json names an upload path twice")) }
        return .success(BackupManifest(created: json["created"]?.stringValue ?? "?", mode: mode, serverVersionNumber: Int(server),
                                       internalDatabase: internalName, role: role, members: members))
    }

    /// The files of `secrets/` a backup carries (what boot persists there).
    public static let secretNames = ["secret_key", "postgres_password"]
}

extension BackupManifest.Kind {
    /// The manifest's key for a member's label.
    var labelKey: String {
        switch self {
        case .roles: return "roles"
        case .database: return "database"
        case .secret: return "secret"
        case .media: return "path"
        }
    }
}

/// Why a manifest cannot be restored (for the refusal message).
public struct ManifestProblem: Error {
    public let message: String
    public init(_ message: String) { self.message = message }
}

import CSystemShims
import Glibc

/// What `prepare` wrote next to the template cluster, and what a first boot
/// checks before copying it: the server it was made by, its initdb settings,
/// the role and database it holds, the fingerprints of the app and of the
/// migrations it ran, and a checksum of the copied tree.
public struct TemplateManifest: Equatable, Sendable {
    public static let format = 1

    public var postgresMajor: Int
    /// `postgres --version` of the server that made it (for people; a new minor release of the same major fits).
    public var postgresVersion: String
    public var locale: String
    public var encoding: String
    public var role: String
    public var database: String
    /// `MigrationFingerprint.app` when prepare ran the migrate command; nil when it was not known.
    public var appFingerprint: String?
    /// The internal database's migration fingerprint after that run.
    public var databaseFingerprint: String?
    /// `TemplateCluster.checksum` of the cluster's tree.
    public var checksum: String
    public var files: Int
    public var bytes: UInt64

    public func encoded() -> String {
        func optional(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
        return JSONValue.object([
            ("format", .number(Double(TemplateManifest.format))),
            ("postgres_major", .number(Double(postgresMajor))),
            ("postgres_version", .string(postgresVersion)),
            ("locale", .string(locale)),
            ("encoding", .string(encoding)),
            ("role", .string(role)),
            ("database", .string(database)),
            ("app_fingerprint", optional(appFingerprint)),
            ("database_fingerprint", optional(databaseFingerprint)),
            ("checksum", .string(checksum)),
            ("files", .number(Double(files))),
            ("bytes", .number(Double(bytes))),
        ]).encoded() + "\n"
    }

    public static func parse(_ text: String) -> TemplateManifest? {
        guard let json = JSONValue.parse(text), json["format"]?.numberValue == Double(format),
              let major = json["postgres_major"]?.numberValue, let version = json["postgres_version"]?.stringValue,
              let locale = json["locale"]?.stringValue, let encoding = json["encoding"]?.stringValue,
              let role = json["role"]?.stringValue, let database = json["database"]?.stringValue,
              let checksum = json["checksum"]?.stringValue, let files = json["files"]?.numberValue,
              let bytes = json["bytes"]?.numberValue else { return nil }
        return TemplateManifest(postgresMajor: Int(major), postgresVersion: version, locale: locale, encoding: encoding,
                                role: role, database: database, appFingerprint: json["app_fingerprint"]?.stringValue,
                                databaseFingerprint: json["database_fingerprint"]?.stringValue, checksum: checksum,
                                files: Int(files), bytes: UInt64(bytes))
    }
}

/// The template cluster made at image build (`mathesar-init prepare`) that a
/// first boot copies instead of running initdb: `TEMPLATE/cluster/` (a
/// cluster shut down cleanly, owned by root, readable by all: it holds no
/// secret) and `TEMPLATE/manifest.json`.
public enum TemplateCluster {
    public static let clusterName = "cluster"
    public static let manifestName = "manifest.json"
    /// The hidden subcommand of `mathesar-init` that copies it, run as the server's account.
    public static let copyCommand = "__copy-template"
    /// Its exit status when the copy does not match the manifest's checksum.
    public static let checksumMismatch: Int32 = 3

    public enum Inspection: Sendable {
        case fits(TemplateManifest)
        /// Why initdb runs instead, as a sentence for the log.
        case unfit(String)
    }

    /// The template a first boot would copy, or why it falls back to initdb
    /// (a sentence for the log). Reads only.
    public static func inspect(directory: String, serverMajor: Int, role: String, database: String) -> Inspection {
        let manifestPath = directory + "/" + manifestName
        let manifest: TemplateManifest
        switch FileIO.read(manifestPath, limit: 64 * 1024) {
        case .failure(.missing):
            return .unfit("no template cluster in \(directory) (MATHESAR_TEMPLATE_DIR; `mathesar-init prepare` makes one at image build)")
        case .failure(let why):
            return .unfit("the template's manifest \(manifestPath) cannot be read (\(why))")
        case .success(let bytes):
            guard let parsed = TemplateManifest.parse(String(decoding: bytes, as: UTF8.self)) else {
                return .unfit("the template's manifest \(manifestPath) is not one this mathesar-init reads (format \(TemplateManifest.format)); run `mathesar-init prepare` again")
            }
            manifest = parsed
        }
        let made = "the template in \(directory) was made"
        if manifest.postgresMajor != serverMajor {
            return .unfit("\(made) by PostgreSQL \(manifest.postgresMajor), and the server is PostgreSQL \(serverMajor)")
        }
        if manifest.locale != BundledServer.initdbLocale || manifest.encoding != "UTF8" {
            return .unfit("\(made) with locale \(manifest.locale) and encoding \(manifest.encoding), and initdb here would use \(BundledServer.initdbLocale) and UTF8")
        }
        if manifest.role != role || manifest.database != database {
            return .unfit("\(made) for POSTGRES_USER=\(manifest.role) and POSTGRES_DB=\(manifest.database), and they are \(role) and \(database)")
        }
        if !FileIO.isDirectory(directory + "/" + clusterName) {
            return .unfit("\(directory)/\(clusterName) is missing although the manifest is there")
        }
        return .fits(manifest)
    }

    /// What one copy did.
    public struct Copy: Sendable {
        public var files: Int
        public var bytes: UInt64
        public var checksum: String
        /// "reflink", "copy_file_range", "read/write", joined by "+".
        public var method: String
    }

    /// Copies the tree `source` into the empty directory `target` (see
    /// `msi_copy_tree`): directories get `directoryMode`, files `fileMode`;
    /// `makeHoles` for the template (zeros left out), else the holes are allocated.
    /// The checksum covers every entry's name and size, and the contents of
    /// PG_VERSION and global/pg_control, so that a template with a missing,
    /// truncated or foreign file, or of another cluster, never matches.
    public static func copyTree(from source: String, to target: String, directoryMode: mode_t, fileMode: mode_t, makeHoles: Bool) -> Result<Copy, Failure> {
        let sourceFD = open(source, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard sourceFD >= 0 else { return .failure(Failure(ExitCode.volumeUnusable, "cannot open \(source): \(lastErrnoText())")) }
        defer { close(sourceFD) }
        let targetFD = open(target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard targetFD >= 0 else { return .failure(Failure(ExitCode.volumeUnusable, "cannot open \(target): \(lastErrnoText())")) }
        defer { close(targetFD) }
        var result = msi_copy_result()
        let rc = msi_copy_tree(sourceFD, targetFD, directoryMode, fileMode, makeHoles ? MSI_COPY_MAKE_HOLES : MSI_COPY_FILL_HOLES, &result)
        defer { free(result.listing) }
        if rc != 0 {
            let failed = withUnsafeBytes(of: result.failed_path) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let why = rc == ELOOP ? "it is a symbolic link, which a template must not hold" : rc == EINVAL ? "it is not a regular file or directory" : errnoText(rc)
            return .failure(Failure(ExitCode.volumeUnusable, "cannot copy \(source)/\(failed) to \(target): \(why)"))
        }
        var listing = result.listing.map { Array(UnsafeBufferPointer(start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), count: result.listing_length)) } ?? []
        for name in ["PG_VERSION", "global/pg_control"] {
            listing += Array("\n\(name)\n".utf8)
            if case .success(let bytes) = FileIO.read(target + "/" + name, limit: 65536) { listing += bytes }
        }
        var methods: [String] = []
        if result.methods & 1 != 0 { methods.append("reflink") }
        if result.methods & 2 != 0 { methods.append("copy_file_range") }
        if result.methods & 4 != 0 { methods.append("read/write") }
        return .success(Copy(files: Int(result.files), bytes: result.bytes, checksum: SHA256.hex(listing),
                             method: methods.isEmpty ? "none" : methods.joined(separator: "+")))
    }

    /// `mathesar-init __copy-template CLUSTER TARGET CHECKSUM`, run by a first
    /// boot as the server's account (so that everything it makes is that
    /// account's, with PostgreSQL's modes): copies, then compares the checksum.
    /// Prints one line for PID 1; exits 0, `checksumMismatch`, or 73.
    public static func runCopy(_ arguments: [String]) -> Int32 {
        guard arguments.count == 3 else {
            FileIO.writeAll(2, Array("usage: mathesar-init \(copyCommand) CLUSTER TARGET CHECKSUM (run by mathesar-init itself)\n".utf8))
            return ExitCode.usage
        }
        let start = Instant.now()
        switch copyTree(from: arguments[0], to: arguments[1], directoryMode: 0o700, fileMode: 0o600, makeHoles: false) {
        case .failure(let failure):
            FileIO.writeAll(1, Array("\(failure.message)\n".utf8))
            return failure.code
        case .success(let copy):
            guard copy.checksum == arguments[2] else {
                FileIO.writeAll(1, Array("the copy of \(arguments[0]) does not match the manifest's checksum (\(copy.files) files; the template was changed or damaged after prepare)\n".utf8))
                return checksumMismatch
            }
            let size = formatBytes(copy.bytes)
            FileIO.writeAll(1, Array("copied \(copy.files) files (\(size)) by \(copy.method) in \(formatDuration(Instant.now().seconds(since: start)))\n".utf8))
            return 0
        }
    }

    static func formatBytes(_ bytes: UInt64) -> String {
        let tenths = (bytes * 10 + 524_288) / 1_048_576
        return "\(tenths / 10).\(tenths % 10) MB"
    }
}

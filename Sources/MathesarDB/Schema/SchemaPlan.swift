import MathesarInit

/// What the ledger of one database says against the bundle: a pure
/// comparison, decided before anything is applied.
struct SchemaPlan: Equatable {
    /// The highest applied version (0 when nothing is).
    var installed: Int
    /// Files to apply, in order.
    var pending: [SchemaBundle.File]
    /// Applied versions the bundle does not have (a newer image applied them).
    var unknown: [SchemaLedger.Entry]
    /// Reasons not to apply anything.
    var problems: [Problem]

    enum Problem: Equatable {
        /// An applied file whose content differs from the bundle's.
        case changed(SchemaBundle.File, applied: SchemaLedger.Entry)
        /// The ledger lacks a version below one it has (edited by hand).
        case missing(version: Int, below: Int)
    }

    init(bundle: SchemaBundle, ledger: [SchemaLedger.Entry]) {
        let applied = Dictionary(ledger.map { ($0.version, $0) }, uniquingKeysWith: { first, _ in first })
        let installed = ledger.map(\.version).max() ?? 0
        var problems: [Problem] = []
        for file in bundle.files {
            if let entry = applied[file.version], entry.checksum != file.checksum {
                problems.append(.changed(file, applied: entry))
            }
        }
        for version in stride(from: 1, to: installed, by: 1) where applied[version] == nil {
            problems.append(.missing(version: version, below: installed))
        }
        self.installed = installed
        self.problems = problems
        pending = bundle.files.filter { $0.version > installed }
        unknown = ledger.filter { $0.version > bundle.latestVersion }
    }

    func describe(_ problem: Problem, database: String) -> String {
        switch problem {
        case .changed(let file, let entry):
            return "database \(database): \(file.fileName) was changed after it was applied (on \(entry.appliedAt)): its SHA-256 is now \(file.checksum.prefix(12))..., the ledger \(SchemaLedger.qualifiedName) has \(entry.checksum.prefix(12))...; restore the file as it was and put the change in a new file"
        case .missing(let version, let below):
            return "database \(database): the ledger \(SchemaLedger.qualifiedName) has version \(below) but not \(SchemaBundle.fileNumber(version)); it was edited by hand. Restore the row, or reinstall (schema uninstall, then schema install)"
        }
    }
}

extension SchemaBundle {
    /// 7 -> "0007".
    static func fileNumber(_ version: Int) -> String {
        let digits = String(version)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

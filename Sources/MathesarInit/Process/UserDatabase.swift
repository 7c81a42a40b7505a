/// A resolved OS account: what a child runs as.
public struct UserIdentity: Equatable, Sendable {
    public var name: String
    public var uid: UInt32
    public var gid: UInt32
    /// Supplementary groups, the primary group included.
    public var groups: [UInt32]
    public var home: String

    public init(name: String, uid: UInt32, gid: UInt32, groups: [UInt32], home: String) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.home = home
    }
}

/// Looks accounts up in the text of /etc/passwd and /etc/group. Parsing the
/// files directly (not NSS) keeps PID 1 a static binary and the lookup pure.
public enum UserDatabase {
    public enum LookupError: Error, Equatable {
        case unknownUser(String)
        case unknownGroup(String)
        case malformed(String)
    }

    struct PasswdEntry {
        var name: String
        var uid: UInt32
        var gid: UInt32
        var home: String
    }

    struct GroupEntry {
        var name: String
        var gid: UInt32
        var members: [String]
    }

    static func parsePasswd(_ text: String) -> [PasswdEntry] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 7, let uid = UInt32(f[2]), let gid = UInt32(f[3]) else { return nil }
            return PasswdEntry(name: String(f[0]), uid: uid, gid: gid, home: String(f[5]))
        }
    }

    static func parseGroup(_ text: String) -> [GroupEntry] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 4, let gid = UInt32(f[2]) else { return nil }
            let members = f[3].split(separator: ",").map(String.init)
            return GroupEntry(name: String(f[0]), gid: gid, members: members)
        }
    }

    /// Resolves `NAME`, `UID`, `NAME:GROUP` or `UID:GID`. A numeric uid
    /// without a passwd entry needs an explicit group, since guessing one
    /// (Docker picks gid 0) would hand out root's group.
    public static func lookup(_ spec: String, passwd: String, group: String) -> Result<UserIdentity, LookupError> {
        let users = parsePasswd(passwd)
        let groups = parseGroup(group)
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let userPart = parts[0]
        guard !userPart.isEmpty else { return .failure(.malformed(spec)) }

        let entry = users.first { $0.name == userPart } ?? UInt32(userPart).flatMap { uid in users.first { $0.uid == uid } }
        var primary: UInt32
        let name: String
        let uid: UInt32
        let home: String
        if let entry {
            name = entry.name; uid = entry.uid; primary = entry.gid; home = entry.home
        } else if let numeric = UInt32(userPart), parts.count == 2 {
            name = userPart; uid = numeric; primary = 0; home = "/"
        } else {
            return .failure(.unknownUser(userPart))
        }
        if parts.count == 2 {
            let groupPart = parts[1]
            if let g = groups.first(where: { $0.name == groupPart }) {
                primary = g.gid
            } else if let numeric = UInt32(groupPart) {
                primary = numeric
            } else {
                return .failure(.unknownGroup(groupPart))
            }
        }
        var supplementary = [primary]
        for g in groups where g.members.contains(name) && !supplementary.contains(g.gid) {
            supplementary.append(g.gid)
        }
        return .success(UserIdentity(name: name, uid: uid, gid: primary, groups: supplementary, home: home))
    }

    /// Reads the system's files.
    public static func lookupOnSystem(_ spec: String) -> Result<UserIdentity, LookupError> {
        lookup(spec, passwd: readTextFile("/etc/passwd") ?? "", group: readTextFile("/etc/group") ?? "")
    }
}

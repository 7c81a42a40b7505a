import Glibc

/// Where this program's binary lives, to re-execute it (privilege-drop
/// trampoline) and to find its libpq helper next to it.
public enum SelfExecutable {
    public static func path() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 {
            return buffer.withUnsafeBufferPointer { String(decoding: $0[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        }
        return CommandLine.arguments.first ?? "mathesar-init"
    }

    /// The libpq helper binary, installed beside `mathesar-init`.
    public static func databaseHelperPath() -> String {
        let own = path()
        let dir = own.lastIndex(of: "/").map { String(own[..<$0]) } ?? "."
        return dir + "/mathesar-init-db"
    }
}

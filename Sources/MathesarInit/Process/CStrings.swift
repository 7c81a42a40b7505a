import Glibc

/// Calls `body` with a NULL-terminated C array of the strings, as argv/envp want.
/// Bytes that arrived as `RawBytes` escapes are given back as the original bytes.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { string in
        let bytes = RawBytes.encode(string)
        let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
        bytes.withUnsafeBufferPointer { source in
            source.withMemoryRebound(to: CChar.self) { copy.initialize(from: $0.baseAddress!, count: bytes.count) }
        }
        copy[bytes.count] = 0
        return copy
    }
    pointers.append(nil)
    defer { for p in pointers { p?.deallocate() } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// The environment as `KEY=VALUE` strings, sorted so children see a stable order.
func environmentStrings(_ environment: [String: String]) -> [String] {
    environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
}

/// This process's environment as a dictionary. Values that are not UTF-8 are
/// kept byte for byte (see `RawBytes`), not repaired into U+FFFD: children get
/// them unchanged, and configuration refuses them in its own variables.
public func currentEnvironment() -> [String: String] {
    var result: [String: String] = [:]
    var cursor = environ
    while let entry = cursor.pointee {
        let text = RawBytes.decode(UnsafeRawPointer(entry).assumingMemoryBound(to: UInt8.self), count: strlen(entry))
        // Split on the first "=" scalar: a combining mark after it would hide it from Character search.
        let scalars = text.unicodeScalars
        if let eq = scalars.firstIndex(of: "=") {
            result[String(scalars[..<eq])] = String(scalars[scalars.index(after: eq)...])
        }
        cursor += 1
    }
    return result
}

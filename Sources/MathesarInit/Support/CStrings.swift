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

/// Bytes that are not valid UTF-8 carried through a Swift `String` (in the
/// manner of Python's surrogateescape): each such byte (always >= 0x80)
/// becomes the private-use scalar U+10FF00 + byte, and goes back to the byte
/// on the way out. A valid scalar from that range is escaped byte by byte too,
/// so that the round trip is exact for any input.
public enum RawBytes {
    static let base: UInt32 = 0x10FF00

    public static func isEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value >= base + 0x80 && scalar.value <= base + 0xFF
    }

    /// The byte an escape stands for.
    public static func byte(of scalar: Unicode.Scalar) -> UInt8 { UInt8(scalar.value - base) }

    /// Whether the string holds bytes that were not UTF-8.
    public static func hasEscapes(_ string: String) -> Bool { string.unicodeScalars.contains(where: isEscape) }

    static func decode(_ pointer: UnsafePointer<UInt8>, count: Int) -> String {
        let bytes = UnsafeBufferPointer(start: pointer, count: count)
        var scalars = String.UnicodeScalarView()
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        func escape(_ length: Int) {
            for byte in bytes[offset..<offset + length] { scalars.append(Unicode.Scalar(base + UInt32(byte))!) }
        }
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                if isEscape(scalar) { escape(encoded.count) } else { scalars.append(scalar) }
                offset += encoded.count
            case .error(let length):
                escape(length)
                offset += length
            case .emptyInput:
                return String(scalars)
            }
        }
    }

    /// The bytes for C: UTF-8, with escapes turned back into their bytes.
    static func encode(_ string: String) -> [UInt8] {
        guard hasEscapes(string) else { return Array(string.utf8) }
        var bytes: [UInt8] = []
        for scalar in string.unicodeScalars {
            if isEscape(scalar) { bytes.append(byte(of: scalar)) } else { bytes.append(contentsOf: String(scalar).utf8) }
        }
        return bytes
    }
}

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

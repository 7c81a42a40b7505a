import Glibc

/// The POSIX ustar layout a backup archive uses, so that `tar -tf` lists it and
/// `tar -xf` unpacks it by hand. Only regular files; sizes of 8 GiB and more
/// use GNU's base-256 size field (GNU and BSD tar read it).
public enum TarFormat {
    public static let block = 512

    /// A header block for a regular file. `name` must be ASCII and under 100 bytes
    /// (backup members are named by mathesar-init, never by the data).
    public static func header(name: String, size: UInt64, mode: UInt32 = 0o600, mtime: Int = 0) -> [UInt8] {
        precondition(name.utf8.count < 100)
        var h = [UInt8](repeating: 0, count: block)
        func put(_ offset: Int, _ bytes: [UInt8]) { for (i, b) in bytes.enumerated() { h[offset + i] = b } }
        func octal(_ value: UInt64, width: Int) -> [UInt8] {
            var digits = Array(String(value, radix: 8).utf8)
            while digits.count < width - 1 { digits.insert(0x30, at: 0) }
            return digits + [0]
        }
        put(0, Array(name.utf8))
        put(100, octal(UInt64(mode), width: 8))
        put(108, octal(0, width: 8))
        put(116, octal(0, width: 8))
        if size < 0o77777777777 {
            put(124, octal(size, width: 12))
        } else {
            var field = [UInt8](repeating: 0, count: 12)
            field[0] = 0x80
            for i in 0..<8 { field[11 - i] = UInt8(truncatingIfNeeded: size >> UInt64(8 * i)) }
            put(124, field)
        }
        put(136, octal(UInt64(max(0, mtime)), width: 12))
        put(148, Array("        ".utf8))
        h[156] = 0x30  // '0': regular file
        put(257, Array("ustar".utf8) + [0])
        put(263, Array("00".utf8))
        put(265, Array("root".utf8))
        put(297, Array("root".utf8))
        let sum = h.reduce(0) { $0 + Int($1) }
        put(148, octal(UInt64(sum), width: 7) + [0x20])
        return h
    }

    /// Zero bytes that pad a member's data to a whole block.
    public static func padding(after size: UInt64) -> Int {
        let rest = Int(size % UInt64(block))
        return rest == 0 ? 0 : block - rest
    }

    public struct Entry: Equatable {
        public var name: String
        public var size: UInt64
    }

    public enum HeaderProblem: Error, Equatable {
        case checksum, notRegularFile(UInt8), badSize, badName
    }

    /// nil for an all-zero block (the end of the archive).
    public static func parse(_ h: ArraySlice<UInt8>) -> Result<Entry, HeaderProblem>? {
        let h = Array(h)
        precondition(h.count == block)
        if h.allSatisfy({ $0 == 0 }) { return nil }
        var sum = 0
        for (i, b) in h.enumerated() { sum += (148..<156).contains(i) ? 0x20 : Int(b) }
        guard let recorded = octalValue(h[148..<156]), recorded == UInt64(sum) else { return .failure(.checksum) }
        guard h[156] == 0x30 || h[156] == 0 else { return .failure(.notRegularFile(h[156])) }
        let size: UInt64
        if h[124] & 0x80 != 0 {
            var value: UInt64 = 0
            for b in h[128..<136] { value = value << 8 | UInt64(b) }
            guard h[125..<128].allSatisfy({ $0 == 0 }) else { return .failure(.badSize) }
            size = value
        } else {
            guard let value = octalValue(h[124..<136]) else { return .failure(.badSize) }
            size = value
        }
        let nameBytes = h[0..<100].prefix { $0 != 0 }
        guard !nameBytes.isEmpty, let name = String(validating: nameBytes, as: UTF8.self) else { return .failure(.badName) }
        return .success(Entry(name: name, size: size))
    }

    static func octalValue(_ field: ArraySlice<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        var seen = false
        for b in field {
            if b == 0 || b == 0x20 { if seen { break } else { continue } }
            guard b >= 0x30 && b <= 0x37 else { return nil }
            value = value * 8 + UInt64(b - 0x30)
            seen = true
        }
        return seen ? value : nil
    }
}

/// Reads exactly `count` bytes (or fewer at end of file); retries EINTR.
func readFully(_ fd: Int32, _ buffer: inout [UInt8], count: Int) -> Int {
    var total = 0
    while total < count {
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, count - total) }
        if n < 0 {
            if errno == EINTR { continue }
            return -1
        }
        if n == 0 { break }
        total += n
    }
    return total
}

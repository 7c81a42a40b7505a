/// Splits a child's output into lines. A line longer than `maxLine` is cut
/// into pieces, so that a child that never prints a newline cannot make PID 1
/// hold unbounded memory.
struct LineBuffer {
    static let maxLine = 16 * 1024
    private var pending: [UInt8] = []

    /// Complete lines in `bytes` (with what was pending before), without newlines.
    mutating func append(_ bytes: ArraySlice<UInt8>) -> [String] {
        var lines: [String] = []
        for b in bytes {
            if b == 0x0A {
                lines.append(take())
            } else {
                // Cut only when a byte would not fit, so a line of exactly
                // maxLine bytes and its newline give one line, not two.
                if pending.count >= LineBuffer.maxLine { lines.append(cut(before: b)) }
                pending.append(b)
            }
        }
        return lines
    }

    /// What is left at end of stream.
    mutating func finish() -> String? {
        pending.isEmpty ? nil : take()
    }

    private mutating func take() -> String {
        if pending.last == 0x0D { pending.removeLast() }
        let line = String(decoding: pending, as: UTF8.self)
        pending.removeAll(keepingCapacity: true)
        return line
    }

    /// The full buffer as a piece ending on a character boundary: when `next`
    /// continues a UTF-8 sequence, that character's first bytes stay pending.
    private mutating func cut(before next: UInt8) -> String {
        var end = pending.count
        if next & 0xC0 == 0x80 {
            var lead = end - 1
            while lead > 0, end - lead < 4, pending[lead] & 0xC0 == 0x80 { lead -= 1 }
            if pending[lead] & 0xC0 == 0xC0 { end = lead }
        }
        let piece = String(decoding: pending[..<end], as: UTF8.self)
        pending.removeFirst(end)
        return piece
    }
}

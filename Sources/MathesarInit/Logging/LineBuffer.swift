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
                pending.append(b)
                if pending.count >= LineBuffer.maxLine { lines.append(take()) }
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
}

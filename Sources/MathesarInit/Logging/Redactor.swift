/// Masks secrets in text before it is logged or stored (status.json), in the
/// forms a child commonly prints them:
/// - as given, and any piece of at least `fragment` characters of it (a key
///   cut in two by a line break or a truncated message, a printed prefix);
/// - percent-encoded (in a URL, upper- or lower-case hex, `+` for a space);
/// - JSON-escaped (`\"`, `\\`, `\/`, `\uXXXX`);
/// - inside base64, at any alignment (HTTP Basic `user:password`, a token):
///   the whole base64 word around it is masked.
/// A secret shorter than 4 characters is masked only where it stands alone
/// (not between letters or digits), so that a password "pw" does not take
/// every "pw" out of the log.
public final class Redactor {
    public static let replacement = "<redacted>"
    /// The shortest piece of a secret that is masked on its own.
    public static let fragment = 12
    static let window = 8

    private struct Pattern {
        var bytes: [UInt8]
        /// Masking grows to the whole run of base64 characters around the match.
        var base64: Bool
        /// The shortest match masked: the whole pattern when it is short.
        var minimum: Int
    }

    private var secrets: Set<String> = []
    private var patterns: [Pattern] = []
    /// Patterns shorter than the window, searched for whole.
    private var short: [(bytes: [UInt8], alone: Bool)] = []
    /// 8-byte window -> (pattern, offset) of every window of every pattern.
    private var windows: [UInt64: [(Int, Int)]] = [:]
    /// One bit per hash of a window: most positions of most lines miss here.
    private var filter = [UInt64](repeating: 0, count: 1024)

    public init() {}

    public var isEmpty: Bool { secrets.isEmpty }

    /// Registers a secret value and its common encodings.
    public func add(_ secret: String) {
        guard !secret.isEmpty, secrets.insert(secret).inserted else { return }
        let raw = Array(secret.utf8)
        var forms: [[UInt8]] = [raw]
        for form in [Redactor.percentEncoded(raw, upper: true, plusForSpace: false),
                     Redactor.percentEncoded(raw, upper: false, plusForSpace: false),
                     Redactor.percentEncoded(raw, upper: true, plusForSpace: true),
                     Redactor.jsonEscaped(raw, escapeSlash: false),
                     Redactor.jsonEscaped(raw, escapeSlash: true)] where !forms.contains(form) {
            forms.append(form)
        }
        for form in forms { addPattern(form, base64: false) }
        for offset in 0..<3 {
            for urlSafe in [false, true] {
                let encoded = Redactor.base64Core(raw, offset: offset, urlSafe: urlSafe)
                // Fewer characters than this could occur in any base64 by chance.
                if encoded.count >= Redactor.window { addPattern(encoded, base64: true) }
            }
        }
    }

    private func addPattern(_ bytes: [UInt8], base64: Bool) {
        if patterns.contains(where: { $0.bytes == bytes }) { return }
        if bytes.count < Redactor.window {
            if !short.contains(where: { $0.bytes == bytes }) { short.append((bytes, bytes.count < 4)) }
            return
        }
        let index = patterns.count
        patterns.append(Pattern(bytes: bytes, base64: base64, minimum: min(Redactor.fragment, bytes.count)))
        for offset in 0...(bytes.count - Redactor.window) {
            let key = Redactor.key(bytes, at: offset)
            windows[key, default: []].append((index, offset))
            let bit = Redactor.bit(key)
            filter[bit >> 6] |= 1 << UInt64(bit & 63)
        }
    }

    /// `text` with every occurrence masked.
    public func mask(_ text: String) -> String {
        if secrets.isEmpty { return text }
        let bytes = Array(text.utf8)
        var ranges: [Range<Int>] = []
        if bytes.count >= Redactor.window {
            var key: UInt64 = 0
            for i in 0..<bytes.count {
                key = (key << 8) | UInt64(bytes[i])
                guard i >= Redactor.window - 1 else { continue }
                let bit = Redactor.bit(key)
                guard filter[bit >> 6] & (1 << UInt64(bit & 63)) != 0, let hits = windows[key] else { continue }
                let start = i - (Redactor.window - 1)
                if let last = ranges.last, last.contains(start) { continue }
                for (index, offset) in hits {
                    if let range = match(bytes, at: start, pattern: patterns[index], offset: offset) { ranges.append(range) }
                }
            }
        }
        for (pattern, alone) in short {
            var from = 0
            while let found = Redactor.find(pattern, in: bytes, from: from) {
                let end = found + pattern.count
                if !alone || (!Redactor.isWordByte(bytes, found - 1) && !Redactor.isWordByte(bytes, end)) {
                    ranges.append(found..<end)
                }
                from = found + 1
            }
        }
        if ranges.isEmpty { return text }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var merged: [Range<Int>] = []
        for range in ranges {
            if let last = merged.last, range.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        var out: [UInt8] = []
        var position = 0
        for range in merged {
            out += bytes[position..<range.lowerBound]
            out += Redactor.replacement.utf8
            position = range.upperBound
        }
        out += bytes[position...]
        return String(decoding: out, as: UTF8.self)
    }

    /// The masked range for a window hit, grown as far as the text goes on
    /// matching the pattern; nil when that is shorter than the pattern's minimum.
    private func match(_ text: [UInt8], at start: Int, pattern: Pattern, offset: Int) -> Range<Int>? {
        var lower = start, patternLower = offset
        while lower > 0, patternLower > 0, text[lower - 1] == pattern.bytes[patternLower - 1] {
            lower -= 1
            patternLower -= 1
        }
        var upper = start + Redactor.window, patternUpper = offset + Redactor.window
        while upper < text.count, patternUpper < pattern.bytes.count, text[upper] == pattern.bytes[patternUpper] {
            upper += 1
            patternUpper += 1
        }
        guard upper - lower >= pattern.minimum else { return nil }
        if pattern.base64 {
            while lower > 0, Redactor.isBase64Byte(text[lower - 1]) { lower -= 1 }
            while upper < text.count, Redactor.isBase64Byte(text[upper]) { upper += 1 }
        }
        return lower..<upper
    }

    static func key(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        var key: UInt64 = 0
        for b in bytes[offset..<(offset + window)] { key = (key << 8) | UInt64(b) }
        return key
    }

    static func bit(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 48)
    }

    static func find(_ pattern: [UInt8], in text: [UInt8], from: Int) -> Int? {
        guard !pattern.isEmpty, text.count >= pattern.count, from <= text.count - pattern.count else { return nil }
        for i in from...(text.count - pattern.count) where text[i] == pattern[0] {
            if text[i..<(i + pattern.count)].elementsEqual(pattern) { return i }
        }
        return nil
    }

    static func isWordByte(_ text: [UInt8], _ index: Int) -> Bool {
        guard index >= 0, index < text.count else { return false }
        let b = text[index]
        return (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b >= 0x80
    }

    static func isBase64Byte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == 0x2B || b == 0x2F || b == 0x3D || b == 0x2D || b == 0x5F
    }

    // MARK: encodings

    static func percentEncoded(_ raw: [UInt8], upper: Bool, plusForSpace: Bool) -> [UInt8] {
        let digits = Array((upper ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
        var out: [UInt8] = []
        for b in raw {
            let unreserved = (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E
            if unreserved {
                out.append(b)
            } else if b == 0x20 && plusForSpace {
                out.append(0x2B)
            } else {
                out += [0x25, digits[Int(b >> 4)], digits[Int(b & 0xF)]]
            }
        }
        return out
    }

    static func jsonEscaped(_ raw: [UInt8], escapeSlash: Bool) -> [UInt8] {
        var out: [UInt8] = []
        let hex = Array("0123456789abcdef".utf8)
        for b in raw {
            switch b {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x2F where escapeSlash: out += [0x5C, 0x2F]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x0D: out += [0x5C, 0x72]
            case 0x09: out += [0x5C, 0x74]
            case 0..<0x20: out += [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            default: out.append(b)
            }
        }
        return out
    }

    /// The base64 characters that depend only on `raw` when it starts `offset`
    /// bytes into the encoded data: whatever comes before or after it.
    static func base64Core(_ raw: [UInt8], offset: Int, urlSafe: Bool) -> [UInt8] {
        let alphabet = Array(("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" + (urlSafe ? "-_" : "+/")).utf8)
        let data = [UInt8](repeating: 0, count: offset) + raw + [0, 0]
        var chars: [UInt8] = []
        var i = 0
        while i + 2 < data.count {
            let n = (UInt32(data[i]) << 16) | (UInt32(data[i + 1]) << 8) | UInt32(data[i + 2])
            for shift in [18, 12, 6, 0] { chars.append(alphabet[Int((n >> UInt32(shift)) & 63)]) }
            i += 3
        }
        // Character k covers bits 6k..<6k+6; keep those inside the secret's bits.
        let first = (8 * offset + 5) / 6
        let end = (8 * (offset + raw.count)) / 6
        guard end > first, end <= chars.count else { return [] }
        return Array(chars[first..<end])
    }
}

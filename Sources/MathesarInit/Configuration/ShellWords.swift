/// Splits a command line into words with the shell's quoting rules (single
/// quotes, double quotes, backslash), without running a shell: no variable
/// expansion, globbing or command substitution. `$` stays literal.
public enum ShellWords {
    public enum Problem: Error, Equatable {
        case unterminatedQuote(Character)
        case trailingBackslash
    }

    public static func split(_ text: String) -> Result<[String], Problem> {
        var words: [String] = []
        var current = ""
        var inWord = false
        var iterator = Array(text).makeIterator()
        while let c = iterator.next() {
            switch c {
            case " ", "\t", "\n":
                if inWord { words.append(current); current = ""; inWord = false }
            case "'":
                inWord = true
                var closed = false
                while let q = iterator.next() {
                    if q == "'" { closed = true; break }
                    current.append(q)
                }
                if !closed { return .failure(.unterminatedQuote("'")) }
            case "\"":
                inWord = true
                var closed = false
                while let q = iterator.next() {
                    if q == "\"" { closed = true; break }
                    if q == "\\" {
                        guard let next = iterator.next() else { return .failure(.unterminatedQuote("\"")) }
                        // Inside double quotes a backslash escapes only these.
                        if next == "\n" { continue }
                        if !["$", "`", "\"", "\\"].contains(next) { current.append("\\") }
                        current.append(next)
                    } else {
                        current.append(q)
                    }
                }
                if !closed { return .failure(.unterminatedQuote("\"")) }
            case "\\":
                guard let next = iterator.next() else { return .failure(.trailingBackslash) }
                if next == "\n" { continue }
                inWord = true
                current.append(next)
            default:
                inWord = true
                current.append(c)
            }
        }
        if inWord { words.append(current) }
        return .success(words)
    }
}

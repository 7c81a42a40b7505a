/// Splits SQL text into its statements where the server's parser would:
/// at semicolons outside strings, quoted identifiers, dollar quotes,
/// comments and parentheses, and outside the `BEGIN ATOMIC ... END` body of
/// a `CREATE FUNCTION` / `CREATE PROCEDURE`.
///
/// Used for two things: a file marked `-- mathesar:no-transaction` must send
/// its statements one at a time (several statements in one query string form
/// an implicit transaction block, which `CREATE INDEX CONCURRENTLY` refuses);
/// and when the server reports an error without a position (one raised while
/// executing rather than parsing), the failing statement's index locates its
/// line in the file.
enum SQLStatements {
    struct Statement: Equatable {
        /// From the statement's first token to just before its semicolon.
        var text: String
        /// 1-based line of the file where `text` starts.
        var line: Int
    }

    static func split(_ sql: String) -> [Statement] {
        var scanner = Scanner(Array(sql.unicodeScalars))
        return scanner.run()
    }

    private struct Scanner {
        let s: [Unicode.Scalar]
        var i = 0
        var line = 1
        var statements: [Statement] = []
        // The statement being read.
        var start: Int?
        var startLine = 0
        var parenDepth = 0
        /// Depth of BEGIN/CASE ... END inside a routine's SQL-standard body.
        var blockDepth = 0
        /// The first words of the statement, lowercased, to recognise CREATE [OR REPLACE] FUNCTION|PROCEDURE.
        var leadingWords: [String] = []

        init(_ scalars: [Unicode.Scalar]) { s = scalars }

        mutating func run() -> [Statement] {
            while i < s.count {
                let c = s[i]
                if c == "-" && peek(1) == "-" {
                    skipLineComment()
                } else if c == "/" && peek(1) == "*" {
                    skipBlockComment()
                } else if c == ";" && parenDepth == 0 && blockDepth == 0 {
                    finish(at: i)
                    i += 1
                } else if c == "\n" || c == " " || c == "\t" || c == "\r" || c == "\u{0C}" {
                    if c == "\n" { line += 1 }
                    i += 1
                } else {
                    markStart()
                    token()
                }
            }
            finish(at: s.count)
            return statements
        }

        func peek(_ offset: Int) -> Unicode.Scalar? {
            i + offset < s.count ? s[i + offset] : nil
        }

        mutating func markStart() {
            if start == nil {
                start = i
                startLine = line
            }
        }

        mutating func finish(at end: Int) {
            if let start {
                statements.append(Statement(text: String(String.UnicodeScalarView(s[start..<end])), line: startLine))
            }
            start = nil
            parenDepth = 0
            blockDepth = 0
            leadingWords = []
        }

        /// Advances over `count` scalars, counting newlines.
        mutating func advance(_ count: Int = 1) {
            for _ in 0..<count where i < s.count {
                if s[i] == "\n" { line += 1 }
                i += 1
            }
        }

        mutating func skipLineComment() {
            while i < s.count && s[i] != "\n" { i += 1 }
        }

        mutating func skipBlockComment() {
            var depth = 0
            repeat {
                if s[i] == "/" && peek(1) == "*" {
                    depth += 1
                    advance(2)
                } else if s[i] == "*" && peek(1) == "/" {
                    depth -= 1
                    advance(2)
                } else {
                    advance()
                }
            } while depth > 0 && i < s.count
        }

        static func isWordStart(_ c: Unicode.Scalar) -> Bool {
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || c.value >= 0x80
        }

        static func isWordPart(_ c: Unicode.Scalar) -> Bool {
            isWordStart(c) || (c >= "0" && c <= "9") || c == "$"
        }

        mutating func token() {
            let c = s[i]
            switch c {
            case "'":
                quoted(closing: "'", backslashEscapes: false)
            case "\"":
                quoted(closing: "\"", backslashEscapes: false)
            case "$":
                if let tag = dollarTag() { dollarQuoted(tag) } else { advance() }
            case "(":
                parenDepth += 1
                advance()
            case ")":
                parenDepth = max(0, parenDepth - 1)
                advance()
            case _ where Scanner.isWordStart(c):
                word()
            case _ where c >= "0" && c <= "9":
                // A number, possibly followed by letters (1e5, 0x1F): none of it can open a quote.
                while i < s.count && Scanner.isWordPart(s[i]) && s[i] != "$" { advance() }
            default:
                advance()
            }
        }

        /// An identifier or keyword; E'...' is an escape string.
        mutating func word() {
            let begin = i
            while i < s.count && Scanner.isWordPart(s[i]) { advance() }
            let text = String(String.UnicodeScalarView(s[begin..<i])).lowercased()
            if i < s.count && s[i] == "'" && text == "e" {
                quoted(closing: "'", backslashEscapes: true)
                return
            }
            noteWord(text)
        }

        /// Tracks BEGIN [ATOMIC] ... END in the body of CREATE [OR REPLACE] FUNCTION|PROCEDURE,
        /// where semicolons separate the body's statements, not the file's.
        mutating func noteWord(_ word: String) {
            if leadingWords.count < 4 { leadingWords.append(word) }
            let routine = ["function", "procedure"]
            let isRoutine = leadingWords.first == "create"
                && ((leadingWords.count > 1 && routine.contains(leadingWords[1]))
                    || (leadingWords.count > 3 && leadingWords[1] == "or" && leadingWords[2] == "replace" && routine.contains(leadingWords[3])))
            guard isRoutine && parenDepth == 0 else { return }
            switch word {
            case "begin": blockDepth += 1
            case "case" where blockDepth > 0: blockDepth += 1
            case "end" where blockDepth > 0: blockDepth -= 1
            default: break
            }
        }

        /// '...' with '' as an escaped quote (and \x escapes in E'...'); "..." likewise.
        mutating func quoted(closing: Unicode.Scalar, backslashEscapes: Bool) {
            advance()  // the opening quote
            while i < s.count {
                if backslashEscapes && s[i] == "\\" {
                    advance(2)
                } else if s[i] == closing {
                    if peek(1) == closing { advance(2) } else { advance(); return }
                } else {
                    advance()
                }
            }
        }

        /// `$tag$` or `$$` at i, unless the `$` continues an identifier or starts a parameter ($1).
        func dollarTag() -> [Unicode.Scalar]? {
            if i > 0 && Scanner.isWordPart(s[i - 1]) { return nil }
            var j = i + 1
            while j < s.count && s[j] != "$" {
                let ok = j == i + 1 ? Scanner.isWordStart(s[j]) : (Scanner.isWordPart(s[j]) && s[j] != "$")
                if !ok { return nil }
                j += 1
            }
            guard j < s.count else { return nil }
            return Array(s[i...j])
        }

        mutating func dollarQuoted(_ tag: [Unicode.Scalar]) {
            advance(tag.count)
            while i < s.count {
                if s[i] == "$" && i + tag.count <= s.count && Array(s[i..<(i + tag.count)]) == tag {
                    advance(tag.count)
                    return
                }
                advance()
            }
        }
    }
}

/// One thing wrong with the environment: which variable, its value (shown
/// only when it is not a secret), why, and what would be valid.
public struct ConfigurationProblem: Equatable, Sendable, CustomStringConvertible {
    public var variable: String
    /// Already made safe to print; nil for secrets.
    public var shownValue: String?
    public var reason: String
    public var example: String?

    public init(variable: String, value: String?, reason: String, example: String? = nil) {
        self.variable = variable
        self.shownValue = value.map(ConfigurationProblem.printable)
        self.reason = reason
        self.example = example
    }

    public var description: String {
        var line = variable
        if let shownValue { line += "=\"\(shownValue)\"" }
        line += ": " + reason
        if let example { line += " (example: \(example))" }
        return line
    }

    /// Control characters escaped and long values shortened, so that a hostile
    /// value cannot garble the terminal or flood the log.
    public static func printable(_ value: String) -> String {
        var out = ""
        var count = 0
        for scalar in value.unicodeScalars {
            if count >= 60 {
                out += "…(\(value.utf8.count) bytes)"
                break
            }
            if RawBytes.isEscape(scalar) {
                out += "\\x" + String(RawBytes.byte(of: scalar), radix: 16)
            } else if scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value) {
                out += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            } else if scalar == "\"" || scalar == "\\" {
                out += "\\" + String(scalar)
            } else {
                out.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return out
    }
}

/// All problems found at once, so that one run tells the user everything to fix.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var problems: [ConfigurationProblem]

    public var description: String {
        let noun = problems.count == 1 ? "problem" : "problems"
        return "configuration invalid (\(problems.count) \(noun)); nothing was started or written:\n"
            + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

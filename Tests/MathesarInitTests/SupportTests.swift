import Testing
@testable import MathesarInit

// MARK: HealthURL (MATHESAR_HEALTHCHECK_URL: plain http inside the container)

@Test func parsesTheDefaultHealthURL() {
    #expect(HealthURL.parse("http://127.0.0.1:8000/") == HealthURL(host: "127.0.0.1", port: 8000, path: "/"))
}

@Test func defaultsToPort80AndPathSlash() {
    #expect(HealthURL.parse("http://localhost") == HealthURL(host: "localhost", port: 80, path: "/"))
}

@Test func keepsThePathAndQuery() {
    #expect(HealthURL.parse("http://app:9000/health/?full=1") == HealthURL(host: "app", port: 9000, path: "/health/?full=1"))
}

@Test func parsesABracketedIPv6Host() {
    #expect(HealthURL.parse("http://[::1]:8000/ready") == HealthURL(host: "::1", port: 8000, path: "/ready"))
    #expect(HealthURL.parse("http://[::1]/") == HealthURL(host: "::1", port: 80, path: "/"))
}

@Test(arguments: [
    "https://127.0.0.1:8000/", "ftp://host/", "127.0.0.1:8000", "http://", "http://:8000/",
    "http://host:0/", "http://host:65536/", "http://host:port/", "http://user:pw@host/",
    "http://host/a b", "http://[::1/", "http://[::1]x/", "http://ho st/",
])
func rejectsABadHealthURL(_ text: String) {
    #expect(HealthURL.parse(text) == nil)
}

// MARK: LineBuffer (children's output cut into log lines)

@Test func splitsOutputIntoLinesAcrossReads() {
    var buffer = LineBuffer()
    #expect(buffer.append(Array("one\ntw".utf8)[...]) == ["one"])
    #expect(buffer.append(Array("o\nthree\n".utf8)[...]) == ["two", "three"])
    #expect(buffer.finish() == nil)
}

@Test func dropsTheCarriageReturnOfCRLFLines() {
    var buffer = LineBuffer()
    #expect(buffer.append(Array("dos\r\nline\r\n".utf8)[...]) == ["dos", "line"])
}

@Test func keepsEmptyLines() {
    var buffer = LineBuffer()
    #expect(buffer.append(Array("a\n\nb\n".utf8)[...]) == ["a", "", "b"])
}

@Test func givesTheUnterminatedRestAtTheEnd() {
    var buffer = LineBuffer()
    #expect(buffer.append(Array("prompt> ".utf8)[...]) == [])
    #expect(buffer.finish() == "prompt> ")
    #expect(buffer.finish() == nil)
}

@Test func cutsALineWithoutNewlineEvery16KiB() {
    var buffer = LineBuffer()
    let lines = buffer.append(Array(repeating: UInt8(ascii: "x"), count: 40 * 1024)[...])
    #expect(lines.map(\.utf8.count) == [16 * 1024, 16 * 1024])
    #expect(buffer.finish()?.utf8.count == 8 * 1024)
}

@Test func givesALineOfExactly16KiBAsOneLine() {
    var buffer = LineBuffer()
    let lines = buffer.append((Array(repeating: UInt8(ascii: "x"), count: 16 * 1024) + [0x0A] + Array("next\n".utf8))[...])
    #expect(lines.map(\.utf8.count) == [16 * 1024, 4])
}

@Test func neverSplitsAMultiByteCharacterWhenCutting() {
    var buffer = LineBuffer()
    // Two ASCII bytes, then 3-byte characters: byte 16384 falls inside one of them.
    let text = "xx" + String(repeating: "€", count: 6000) + "\n"
    let lines = buffer.append(Array(text.utf8)[...])
    #expect(lines.count == 2)
    #expect(!lines.joined().contains("\u{FFFD}"))
    #expect(lines.joined() == String(text.dropLast()))
}

// MARK: ConfigurationProblem.printable (values shown in problems)

@Test func escapesControlCharactersInShownValues() {
    #expect(ConfigurationProblem.printable("a\nb\tc\u{1B}[31m\u{7F}") == #"a\x0ab\x09c\x1b[31m\x7f"#)
}

@Test func escapesQuotesAndBackslashesInShownValues() {
    #expect(ConfigurationProblem.printable(#"say "hi" \ bye"#) == #"say \"hi\" \\ bye"#)
}

@Test func cutsLongValuesAndSaysHowLongTheyWere() {
    let long = String(repeating: "a", count: 500)
    let shown = ConfigurationProblem.printable(long)
    #expect(shown.hasPrefix(String(repeating: "a", count: 60)))
    #expect(shown.hasSuffix("…(500 bytes)"))
    #expect(shown.count < 80)
    #expect(ConfigurationProblem.printable(String(repeating: "b", count: 60)) == String(repeating: "b", count: 60))
}

@Test func showsTheVariableValueReasonAndExample() {
    let problem = ConfigurationProblem(variable: "POSTGRES_PORT", value: "x\n", reason: "must be a whole number", example: "POSTGRES_PORT=5432")
    #expect(problem.description == #"POSTGRES_PORT="x\x0a": must be a whole number (example: POSTGRES_PORT=5432)"#)
    let secret = ConfigurationProblem(variable: "SECRET_KEY", value: nil, reason: "is empty")
    #expect(secret.description == "SECRET_KEY: is empty")
}

// MARK: formatDuration (log lines)

@Test(arguments: [(0.0, "0 ms"), (0.0004, "0 ms"), (0.5, "500 ms"), (0.84, "840 ms"), (1, "1 s"), (1.25, "1.25 s"),
                  (2.5, "2.5 s"), (2.05, "2.05 s"), (30, "30 s"), (90.001, "90 s")])
func formatsDurationsForHumans(_ seconds: Double, _ text: String) {
    #expect(formatDuration(seconds) == text)
}

@Test func neverFormatsAnAlmostWholeSecondAsAThousandMilliseconds() {
    #expect(formatDuration(0.9996) == "1 s")
}

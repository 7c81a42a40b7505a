import Testing
@testable import MathesarInit

// JSON for log lines, status.json and `config --format json`: what it writes
// must be valid JSON (RFC 8259) that reads back to the same value.

@Test func roundTripsNestedValues() {
    let value = JSONValue.object([
        ("phase", .string("running")),
        ("pids", .array([.number(1), .number(4242), .null])),
        ("ready", .bool(true)),
        ("stopping", .bool(false)),
        ("uptime", .number(12.5)),
        ("services", .object([("app", .object([("restarts", .number(3))]))])),
        ("empty", .array([])),
        ("nothing", .object([])),
    ])
    #expect(JSONValue.parse(value.encoded()) == value)
}

@Test func keepsKeyOrderInOutput() {
    let value = JSONValue.object([("time", .string("t")), ("source", .string("app")), ("level", .string("info")), ("message", .string("m"))])
    #expect(value.encoded() == #"{"time":"t","source":"app","level":"info","message":"m"}"#)
}

@Test func writesWholeNumbersWithoutAFraction() {
    #expect(JSONValue.number(143).encoded() == "143")
    #expect(JSONValue.number(-1).encoded() == "-1")
    #expect(JSONValue.number(0.25).encoded() == "0.25")
}

@Test func escapesQuotesBackslashesAndEveryControlCharacter() {
    var text = "say \"hi\" \\ "
    for code in UInt32(0)..<0x20 { text.unicodeScalars.append(Unicode.Scalar(code)!) }
    text += "\u{7F}"
    let encoded = JSONValue.string(text).encoded()
    // No raw control character may appear in a JSON string (one log line stays one line).
    #expect(!encoded.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
    #expect(encoded.contains(#"\"hi\""#))
    #expect(encoded.contains(#"\\"#))
    #expect(encoded.contains(#"\n"#))
    #expect(encoded.contains(#"\t"#))
    #expect(encoded.contains(#"\u0000"#))
    #expect(encoded.contains(#"\u001b"#))
    #expect(JSONValue.parse(encoded) == .string(text))
}

@Test func keepsNonASCIITextAsIs() {
    let text = "café ✓ 😀"
    #expect(JSONValue.string(text).encoded() == "\"café ✓ 😀\"")
    #expect(JSONValue.parse(JSONValue.string(text).encoded()) == .string(text))
}

@Test func parsesStandardEscapes() {
    #expect(JSONValue.parse(#""a\/b\b\f\n\r\t\u00e9""#) == .string("a/b\u{8}\u{C}\n\r\té"))
}

@Test func parsesSurrogatePairsAsOneCharacter() {
    // Python's json.dumps writes characters outside the BMP this way.
    #expect(JSONValue.parse(#""\ud83d\ude00""#) == .string("😀"))
}

@Test func parsesWhitespaceBetweenTokens() {
    #expect(JSONValue.parse(" { \"a\" : [ 1 , 2 ] }\n") == .object([("a", .array([.number(1), .number(2)]))]))
}

@Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "\"open", "nul", "[1 2]", "{} {}", "{a:1}"])
func rejectsInvalidJSON(_ text: String) {
    #expect(JSONValue.parse(text) == nil)
}

@Test func looksUpObjectKeys() {
    let value = JSONValue.parse(#"{"phase":"running","pid":7}"#)
    #expect(value?["phase"]?.stringValue == "running")
    #expect(value?["pid"]?.numberValue == 7)
    #expect(value?["missing"] == nil)
    #expect(JSONValue.array([])["phase"] == nil)
}

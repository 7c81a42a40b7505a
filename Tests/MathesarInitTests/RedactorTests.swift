import Testing
@testable import MathesarInit

// MARK: Redactor (secrets masked in the log and in status.json)

private let key = "Q7w9ZpL2xK4mN8vB6cR1tY3uI5oP0aSdFgHjKlZxCvBnM1q2W3"
private let password = "p@ss w/rd\"quote\\back"

private func redactor(_ secrets: String...) -> Redactor {
    let r = Redactor()
    for s in secrets { r.add(s) }
    return r
}

/// Standard base64, written out here so that the test does not share the code under test.
private func base64(_ text: String) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    let bytes = Array(text.utf8)
    var out = ""
    var i = 0
    while i < bytes.count {
        let chunk = Array(bytes[i..<min(i + 3, bytes.count)])
        let n = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << UInt32(16 - 8 * $1.offset) }
        for k in 0..<4 { out.append(k <= chunk.count ? alphabet[Int((n >> UInt32(18 - 6 * k)) & 63)] : "=") }
        i += 3
    }
    return out
}

@Test func masksTheSecretAsGiven() {
    #expect(redactor(key).mask("SECRET_KEY=\(key) ok") == "SECRET_KEY=<redacted> ok")
}

@Test func masksAPrefixAndEachHalfOfAKeySplitAcrossLines() {
    let r = redactor(key)
    #expect(r.mask("truncated: \(key.prefix(25))...") == "truncated: <redacted>...")
    #expect(r.mask("  " + String(key.dropFirst(25))) == "  <redacted>")
    #expect(!r.mask("piece: \(key.dropFirst(10).prefix(12)) end").contains(String(key.dropFirst(10).prefix(12))))
}

@Test func leavesAPieceShorterThanTheFragmentLength() {
    let piece = String(key.prefix(Redactor.fragment - 1))
    #expect(redactor(key).mask("x \(piece) y") == "x \(piece) y")
}

@Test func masksThePercentEncodedPassword() {
    let r = redactor(password)
    #expect(r.mask("postgres://u:p%40ss%20w%2Frd%22quote%5Cback@db/x") == "postgres://u:<redacted>@db/x")
    #expect(r.mask("postgres://u:p%40ss%20w%2frd%22quote%5cback@db/x") == "postgres://u:<redacted>@db/x")
    #expect(r.mask("form: pw=p%40ss+w%2Frd%22quote%5Cback&x=1") == "form: pw=<redacted>&x=1")
}

@Test func masksTheJSONEscapedPassword() {
    let r = redactor(password)
    #expect(r.mask(#"{"password": "p@ss w/rd\"quote\\back"}"#) == #"{"password": "<redacted>"}"#)
    #expect(r.mask(#"{"password": "p@ss w\/rd\"quote\\back"}"#) == #"{"password": "<redacted>"}"#)
}

@Test(arguments: ["mathesar", "ab", "abc", "a-longer-user-name"])
func masksBasicAuthOfUserAndPasswordWholeWhateverTheUser(_ user: String) {
    let header = "Authorization: Basic " + base64("\(user):\(password)")
    #expect(redactor(password).mask(header) == "Authorization: Basic <redacted>")
}

@Test func masksTheBase64OfTheSecretAlone() {
    #expect(redactor(key).mask("token " + base64(key) + " end") == "token <redacted> end")
}

@Test func masksAShortSecretOnlyWhereItStandsAlone() {
    let r = redactor("pw")
    #expect(r.mask("postgres://u:pw@db") == "postgres://u:<redacted>@db")
    #expect(r.mask(#"{"password": "pw"}"#) == #"{"password": "<redacted>"}"#)
    #expect(r.mask("pwd is /tmp; upward") == "pwd is /tmp; upward")
}

@Test func masksASecretOfFourToSevenCharactersEverywhere() {
    #expect(redactor("s3cr").mask("xs3crx") == "x<redacted>x")
}

@Test func masksOverlappingAndRepeatedOccurrencesOnce() {
    let r = redactor(key, password)
    #expect(r.mask("\(key)\(key) and \(password)") == "<redacted> and <redacted>")
}

@Test func leavesTextWithoutSecretsAlone() {
    let text = "LOG:  database system is ready to accept connections ü ✓"
    #expect(redactor(key, password).mask(text) == text)
    #expect(Redactor().mask(text) == text)
}

@Test func loggerMasksThroughItsRedactor() {
    final class Capture: LogSink {
        var lines: [String] = []
        func write(_ line: [UInt8], toStderr: Bool) { lines.append(String(decoding: line, as: UTF8.self)) }
    }
    let sink = Capture()
    let logger = Logger(format: .json, sink: sink)
    logger.redact(password)
    logger.child(source: "app", line: "url postgres://u:p%40ss%20w%2Frd%22quote%5Cback@h", fromStderr: false)
    #expect(sink.lines.count == 1 && sink.lines[0].contains("postgres://u:<redacted>@h"))
}

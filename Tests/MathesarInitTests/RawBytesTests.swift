import Testing
@testable import MathesarInit

// MARK: RawBytes (environment values that are not UTF-8, carried byte for byte)

private func roundTrip(_ bytes: [UInt8]) -> (String, [UInt8]) {
    let text = bytes.withUnsafeBufferPointer { RawBytes.decode($0.baseAddress!, count: $0.count) }
    return (text, RawBytes.encode(text))
}

@Test(arguments: [
    [0xFF, 0xFE, 0x80] as [UInt8],
    Array("plain ascii".utf8),
    Array("ünïcødé ✓".utf8),
    [0x61, 0xC3] as [UInt8],                      // truncated sequence at the end
    [0xED, 0xA0, 0x80] as [UInt8],                // an encoded surrogate
    [0xC0, 0xAF] as [UInt8],                      // overlong encoding
    Array("\u{10FF85}\u{10FFFF}".utf8),           // valid scalars from the escape range itself
])
func rawBytesRoundTripExactly(_ bytes: [UInt8]) {
    let (_, back) = roundTrip(bytes)
    #expect(back == bytes)
}

@Test func validUTF8HasNoEscapesAndInvalidBytesDo() {
    #expect(!RawBytes.hasEscapes(roundTrip(Array("ünïcødé".utf8)).0))
    let (text, _) = roundTrip([0x61, 0xFF, 0x62])
    #expect(RawBytes.hasEscapes(text))
    #expect(text.unicodeScalars.count == 3)
    #expect(ConfigurationProblem.printable(text) == "a\\xff" + "b")
}

@Test func anUndecodableValueOfOursIsAProblemNamingIt() {
    let (junk, _) = roundTrip([0xFF, 0xFE, 0xFD])
    guard case .failure(let error) = ConfigurationLoader.load(environment: ["POSTGRES_USER": junk, "SECRET_KEY": junk, "OTHER": junk]) else {
        Issue.record("junk was accepted")
        return
    }
    #expect(error.problems.map(\.variable).sorted() == ["POSTGRES_USER", "SECRET_KEY"])
    #expect(error.problems.first { $0.variable == "SECRET_KEY" }?.shownValue == nil)
}

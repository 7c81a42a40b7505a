@testable import MathesarDB
import Testing

@Suite struct ScramVerifierTests {
    /// Made by PostgreSQL 15 itself: CREATE ROLE ... PASSWORD 'correct horse battery staple'.
    static let fromPostgres = "SCRAM-SHA-256$4096:K0CGjLsxKa9dvf80Bgyr9Q==$bxASVXQwwxOfZ2WcVez+QskMp3dCbFUvIT6ZIz+x2JA=:c5kEVecy0RViIopFcdLnz0YjSaFxNIPxCRsWpBOHCWY="

    @Test func matchesAVerifierPostgresMade() {
        #expect(ScramVerifier.matches(Self.fromPostgres, password: "correct horse battery staple"))
    }

    @Test func rejectsAnotherPassword() {
        #expect(!ScramVerifier.matches(Self.fromPostgres, password: "correct horse battery stapl"))
        #expect(!ScramVerifier.matches(Self.fromPostgres, password: ""))
    }

    @Test func madeWithTheSameSaltEqualsPostgresVerifier() {
        let salt = Base64.decode("K0CGjLsxKa9dvf80Bgyr9Q==")!
        #expect(ScramVerifier.make(password: "correct horse battery staple", salt: salt, iterations: 4096) == Self.fromPostgres)
    }

    @Test func newVerifiersUseFreshSaltsAndMatch() {
        let a = ScramVerifier.make(password: "pw-1")!, b = ScramVerifier.make(password: "pw-1")!
        #expect(a != b)
        #expect(ScramVerifier.matches(a, password: "pw-1") && ScramVerifier.matches(b, password: "pw-1"))
    }

    @Test(arguments: ["", "md5abc", "SCRAM-SHA-256$x:y$z:w", "SCRAM-SHA-256$4096:!!$a:b", "SCRAM-SHA-256$4096:K0CG$"])
    func malformedVerifiersNeverMatch(_ verifier: String) {
        #expect(!ScramVerifier.matches(verifier, password: "anything"))
    }

    @Test(arguments: [[UInt8](), [0], [0, 1], [0, 1, 2], [255, 254, 253, 252]])
    func base64RoundTrips(_ bytes: [UInt8]) {
        #expect(Base64.decode(Base64.encode(bytes)) == bytes)
    }
}

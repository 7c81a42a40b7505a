import Glibc
import Testing
@testable import MathesarInit

// Generated secrets: "50 characters from a CSPRNG" (docs/configuration.md), and the
// persisted copies are never followed through symbolic links out of the volume.

@Test func generatesFiftyCharactersFromALettersAndDigitsAlphabet() throws {
    let secret = try SecretStore.generate()
    #expect(secret.count == 50)
    #expect(secret.unicodeScalars.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") })
}

@Test func generatesADifferentSecretEachTime() throws {
    #expect(try SecretStore.generate() != SecretStore.generate())
}

@Test func usesTheWholeAlphabet() throws {
    // 40 secrets are 2000 draws from 62 characters: each appears with near certainty (miss chance < 1e-12).
    var seen = Set<Character>()
    for _ in 0..<40 { seen.formUnion(try SecretStore.generate()) }
    #expect(seen.count == 62)
}

private let names = [(file: "secret_key", variable: "SECRET_KEY"), (file: "postgres_password", variable: "POSTGRES_PASSWORD")]

@Test func findsNothingWrongWithAMissingOrRegularSecretsDirectory() {
    let dir = TemporaryDirectory()
    #expect(SecretStore.inspect(directory: dir.path + "/secrets", names: names).isEmpty)
    dir.file("secrets/secret_key", "abc\n", mode: 0o600)
    #expect(SecretStore.inspect(directory: dir.path + "/secrets", names: names).isEmpty)
}

@Test func refusesASymlinkedSecretsDirectory() {
    let dir = TemporaryDirectory()
    let elsewhere = dir.directory("elsewhere")
    let link = dir.symlink("secrets", to: elsewhere)
    let problems = SecretStore.inspect(directory: link, names: names)
    #expect(problems.map(\.variable) == ["SECRET_KEY", "POSTGRES_PASSWORD"])
    #expect(problems.allSatisfy { $0.reason.contains("symbolic link") && $0.shownValue == nil })
}

@Test func refusesASymlinkedSecretFile() {
    let dir = TemporaryDirectory()
    let target = dir.file("outside", "stolen\n")
    dir.directory("secrets")
    dir.symlink("secrets/secret_key", to: target)
    let problems = SecretStore.inspect(directory: dir.path + "/secrets", names: names)
    #expect(problems.map(\.variable) == ["SECRET_KEY"])
    #expect(problems.first?.reason.contains("symbolic link") == true)
}

@Test func refusesASecretsPathThatIsAFile() {
    let dir = TemporaryDirectory()
    let file = dir.file("secrets", "")
    #expect(SecretStore.inspect(directory: file, names: names).map(\.variable) == ["SECRET_KEY", "POSTGRES_PASSWORD"])
}

@Test func refusesASecretThatIsADirectory() {
    let dir = TemporaryDirectory()
    dir.directory("secrets/postgres_password")
    #expect(SecretStore.inspect(directory: dir.path + "/secrets", names: names).map(\.variable) == ["POSTGRES_PASSWORD"])
}

import Testing
@testable import MathesarInit

/// The repository's root, from this file's place in it.
private let repositoryRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)  // Tests/MathesarInitTests/ConfigVariableTests.swift
    return parts.joined(separator: "/")
}()

@Test func theDocumentedTableIsTheVariableTable() throws {
    let path = repositoryRoot + "/docs/configuration.md"
    guard case .success(let bytes) = FileIO.read(path, limit: 1 << 20) else {
        Issue.record("cannot read \(path)")
        return
    }
    let text = String(decoding: bytes, as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard let first = lines.firstIndex(of: "| variable | default | meaning |") else {
        Issue.record("docs/configuration.md has no variable table")
        return
    }
    let end = lines[first...].firstIndex(where: { !$0.hasPrefix("|") }) ?? lines.endIndex
    let documented = lines[first..<end].joined(separator: "\n") + "\n"
    #expect(documented == ConfigVariable.markdownTable,
            "docs/configuration.md's table differs from ConfigVariable; replace it with:\n\(ConfigVariable.markdownTable)")
}

@Test func everyVariableOfTheTableIsReadAndShownByConfig() throws {
    let config = try ConfigurationLoader.load(environment: [:], files: FileReader(read: { _ in .failure(.missing) }, list: { _ in nil })).get()
    let shown = Set(config.entries.map(\.variable))
    for variable in ConfigVariable.allCases {
        #expect(shown.contains(variable.name), "\(variable.name) is in the table but `config` does not show it")
    }
    for entry in config.entries {
        #expect(ConfigVariable(rawValue: entry.variable) != nil, "`config` shows \(entry.variable), which the table lacks")
    }
}

@Test func configListsTheVariablesInTheTablesOrder() throws {
    let config = try ConfigurationLoader.load(environment: ["MATHESAR_APP_COMMAND": "gunicorn"], arguments: ["sleep", "1"],
                                              files: FileReader(read: { _ in .failure(.missing) }, list: { _ in nil })).get()
    let names = config.entries.map(\.variable)
    #expect(names.filter { $0 != "app command" } == ConfigVariable.allCases.map(\.name))
    #expect(names.firstIndex(of: "app command") == names.firstIndex(of: "MATHESAR_APP_COMMAND")! + 1)
}

@Test func secretsAndTheirFileVariantsAreKnownNames() {
    #expect(ConfigVariable.allNames.contains("POSTGRES_PASSWORD_FILE"))
    #expect(ConfigVariable.allNames.contains("SECRET_KEY_FILE"))
    #expect(!ConfigVariable.allNames.contains("POSTGRES_PORT_FILE"))
    #expect(ConfigVariable.named("SECRET_KEY_FILE") == .secretKey)
}

@Test func everyLiteralDefaultIsOneTheLoaderAccepts() throws {
    // A default is a value the variable could be set to: setting it changes nothing but the source.
    var environment: [String: String] = [:]
    for variable in ConfigVariable.allCases { if let value = variable.defaultValue { environment[variable.name] = value } }
    let files = FileReader(read: { _ in .failure(.missing) }, list: { _ in nil })
    let given = try ConfigurationLoader.load(environment: environment, files: files).get()
    let defaults = try ConfigurationLoader.load(environment: [:], files: files).get()
    for variable in ConfigVariable.allCases where variable.defaultValue != nil {
        let a = given.entries.first { $0.variable == variable.name }, b = defaults.entries.first { $0.variable == variable.name }
        #expect(a?.value == b?.value && a?.source == .environment && b?.source == .defaultValue, "\(variable.name)")
    }
}

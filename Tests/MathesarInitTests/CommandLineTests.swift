import Testing
@testable import MathesarInit

// The command line of the documented contract ("Command line"): subcommands, `--`, the
// implied `run`, and exit status 64 for bad usage.

private func parse(_ arguments: [String]) -> Command? {
    try? Command.parse(arguments).get()
}

private func usageError(_ arguments: [String]) -> Failure? {
    if case .failure(let failure) = Command.parse(arguments) { failure } else { nil }
}

@Test func runsWithNoCommandWhenThereAreNoArguments() {
    #expect(parse([]) == .run(appCommand: []))
}

@Test func parsesRunWithAndWithoutDoubleDash() {
    #expect(parse(["run"]) == .run(appCommand: []))
    #expect(parse(["run", "gunicorn", "config.wsgi"]) == .run(appCommand: ["gunicorn", "config.wsgi"]))
    #expect(parse(["run", "--", "gunicorn", "--workers", "2"]) == .run(appCommand: ["gunicorn", "--workers", "2"]))
    #expect(parse(["--", "python", "-m", "http.server"]) == .run(appCommand: ["python", "-m", "http.server"]))
}

@Test func keepsArgumentsAfterDoubleDashThatLookLikeSubcommands() {
    #expect(parse(["--", "check"]) == .run(appCommand: ["check"]))
    #expect(parse(["run", "--", "--", "x"]) == .run(appCommand: ["--", "x"]))
}

@Test func impliesRunWhenTheFirstArgumentIsNotASubcommand() {
    #expect(parse(["gunicorn", "config.wsgi", "-b", "0.0.0.0:8000"]) == .run(appCommand: ["gunicorn", "config.wsgi", "-b", "0.0.0.0:8000"]))
    #expect(parse(["/usr/local/bin/app", "check"]) == .run(appCommand: ["/usr/local/bin/app", "check"]))
}

@Test func parsesTheSubcommandsWithoutArguments() {
    #expect(parse(["check"]) == .check)
    #expect(parse(["migrate"]) == .migrate)
    #expect(parse(["healthcheck"]) == .healthcheck)
    #expect(parse(["version"]) == .version)
    #expect(parse(["--version"]) == .version)
    #expect(parse(["help"]) == .help)
    #expect(parse(["--help"]) == .help)
}

@Test func parsesConfigFormats() {
    #expect(parse(["config"]) == .config(format: .text))
    #expect(parse(["config", "--format", "json"]) == .config(format: .json))
    #expect(parse(["config", "--format", "text"]) == .config(format: .text))
    #expect(parse(["config", "--format=json"]) == .config(format: .json))
}

@Test func parsesTheSchemaActions() {
    #expect(parse(["schema", "status"]) == .schema(.status, database: nil))
    #expect(parse(["schema", "upgrade"]) == .schema(.upgrade, database: nil))
    #expect(parse(["schema", "upgrade", "--database", "sales"]) == .schema(.upgrade, database: "sales"))
    #expect(parse(["schema", "upgrade", "--database=sales"]) == .schema(.upgrade, database: "sales"))
    #expect(parse(["schema", "uninstall", "--database", "crm"]) == .schema(.uninstall, database: "crm"))
}

@Test(arguments: [
    ["check", "extra"],
    ["migrate", "--now"],
    ["healthcheck", "x"],
    ["version", "x"],
    ["config", "--format", "yaml"],
    ["config", "--format=yaml"],
    ["config", "--format"],
    ["config", "json"],
    ["schema"],
    ["schema", "install", "--database", "x"],
    ["schema", "uninstall"],
    ["schema", "uninstall", "--database"],
    ["schema", "uninstall", "--database="],
    ["schema", "status", "--database", "x"],
    ["schema", "upgrade", "--force"],
    ["--verbose"],
    ["-x", "app"],
])
func rejectsBadUsageWithExitStatus64(_ arguments: [String]) throws {
    let failure = try #require(usageError(arguments))
    #expect(failure.code == 64)
    #expect(failure.message.contains("usage: mathesar-init"))
}

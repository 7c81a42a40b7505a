import Testing
@testable import MathesarInit

// MATHESAR_APP_COMMAND and MATHESAR_MIGRATE_COMMAND are split "with shell
// quoting rules, never run through a shell": the expected words are what
// POSIX sh would pass as argv for the same text.

private func words(_ text: String) -> [String]? {
    try? ShellWords.split(text).get()
}

@Test func splitsOnRunsOfBlanks() {
    #expect(words("gunicorn  config.wsgi\t-b 0.0.0.0:8000 ") == ["gunicorn", "config.wsgi", "-b", "0.0.0.0:8000"])
    #expect(words("a\nb") == ["a", "b"])
}

@Test func givesNoWordsForBlankText() {
    #expect(words("") == [])
    #expect(words(" \t\n ") == [])
}

@Test func keepsEverythingInsideSingleQuotesLiterally() {
    #expect(words(#"echo 'a  b' '$HOME' 'back\slash' 'say "hi"'"#) == ["echo", "a  b", "$HOME", #"back\slash"#, #"say "hi""#])
}

@Test func escapesOnlyDollarBacktickQuoteAndBackslashInsideDoubleQuotes() {
    #expect(words(#""a \"quoted\" word""#) == [#"a "quoted" word"#])
    #expect(words(#""\$HOME \` \\""#) == [#"$HOME ` \"#])
    // Any other backslash stays, as in sh: "\n" is a backslash and an n.
    #expect(words(#""line\nbreak""#) == [#"line\nbreak"#])
}

@Test func joinsALineContinuationInsideDoubleQuotes() {
    #expect(words("\"a\\\nb\"") == ["ab"])
}

@Test func escapesTheNextCharacterWithABackslashOutsideQuotes() {
    #expect(words(#"a\ b c\'d \"e\" f\\g"#) == ["a b", "c'd", #""e""#, #"f\g"#])
}

@Test func treatsBackslashNewlineOutsideQuotesAsAContinuation() {
    #expect(words("python \\\n  -m app") == ["python", "-m", "app"])
    #expect(words("ab\\\ncd") == ["abcd"])
}

@Test func keepsEmptyQuotedWords() {
    #expect(words(#"cmd '' """#) == ["cmd", "", ""])
    #expect(words("''") == [""])
}

@Test func joinsAdjacentQuotedAndUnquotedPartsIntoOneWord() {
    #expect(words(#"--name="my app"'s' x''y"#) == ["--name=my apps", "xy"])
}

@Test func leavesDollarSignsGlobsAndOperatorsUnexpanded() {
    #expect(words("echo $HOME ${X} $(id) * a|b a;b") == ["echo", "$HOME", "${X}", "$(id)", "*", "a|b", "a;b"])
}

@Test func reportsAnUnterminatedSingleQuote() {
    #expect(throws: ShellWords.Problem.unterminatedQuote("'")) { try ShellWords.split("gunicorn 'config.wsgi").get() }
}

@Test func reportsAnUnterminatedDoubleQuote() {
    #expect(throws: ShellWords.Problem.unterminatedQuote("\"")) { try ShellWords.split(#"python -c "print(1)"#).get() }
    #expect(throws: ShellWords.Problem.unterminatedQuote("\"")) { try ShellWords.split(#""ends with backslash\"#).get() }
}

@Test func reportsATrailingBackslash() {
    #expect(throws: ShellWords.Problem.trailingBackslash) { try ShellWords.split("gunicorn \\").get() }
}

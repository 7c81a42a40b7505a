import Testing
@testable import MathesarDB

@Suite struct SQLStatementsTests {
    private func split(_ sql: String) -> [String] { SQLStatements.split(sql).map(\.text) }

    @Test func splitsAtTopLevelSemicolonsWithStartLines() {
        let statements = SQLStatements.split("-- header; not a statement\nCREATE TABLE a (id int);\n\n  INSERT INTO a VALUES (1);\nSELECT 2")
        #expect(statements == [
            .init(text: "CREATE TABLE a (id int)", line: 2),
            .init(text: "INSERT INTO a VALUES (1)", line: 4),
            .init(text: "SELECT 2", line: 5),
        ])
    }

    @Test func commentsAndBlanksAloneAreNoStatements() {
        #expect(split("-- only a comment;\n/* and; another */\n;;\n").isEmpty)
        #expect(split("").isEmpty)
    }

    @Test func semicolonsInsideQuotesAndCommentsDoNotSplit() {
        #expect(split("SELECT 'a;b', 'it''s;'; SELECT \"we;ird\"\"id\"") == ["SELECT 'a;b', 'it''s;'", "SELECT \"we;ird\"\"id\""])
        #expect(split("SELECT 1 /* a; /* nested; */ still; */ + 1; SELECT 2") == ["SELECT 1 /* a; /* nested; */ still; */ + 1", "SELECT 2"])
        #expect(split("SELECT 1 -- trailing; comment\n; SELECT 2") == ["SELECT 1 -- trailing; comment\n", "SELECT 2"])
    }

    @Test func escapeStringsHonourBackslashes() {
        #expect(split("SELECT E'a\\';b'; SELECT 'c\\'; SELECT 3") == ["SELECT E'a\\';b'", "SELECT 'c\\'", "SELECT 3"])
    }

    @Test func dollarQuotesWithAndWithoutTags() {
        let sql = """
            CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;
            CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $body$ SELECT '$$;' $body$;
            SELECT $_1$;$_1$;
            SELECT $1x$;$1x$
            """
        // $1x$ is no tag (a tag cannot start with a digit): the server reads $1, x$, and splits.
        #expect(split(sql).count == 5)
        #expect(split(sql)[2] == "SELECT $_1$;$_1$")
        #expect(split(sql)[1].hasSuffix("$body$ SELECT '$$;' $body$"))
    }

    @Test func dollarInIdentifiersAndParametersIsNoQuote() {
        #expect(split("SELECT a$b FROM t; PREPARE p AS SELECT $1; SELECT 3") == ["SELECT a$b FROM t", "PREPARE p AS SELECT $1", "SELECT 3"])
    }

    @Test func parenthesesKeepRuleActionsTogether() {
        #expect(split("CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)); SELECT 1").count == 2)
    }

    @Test func sqlStandardRoutineBodiesStayWhole() {
        let sql = """
            CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql
            BEGIN ATOMIC
              SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;
              SELECT x;
            END;
            CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); END;
            BEGIN; SELECT 1; END;
            """
        let statements = SQLStatements.split(sql)
        #expect(statements.map(\.line) == [1, 6, 7, 7, 7])
        #expect(statements[0].text.hasSuffix("SELECT x;\nEND"))
    }

    @Test func linesCountInsideStringsAndComments() {
        let statements = SQLStatements.split("SELECT 'a\nb';\n/* x\ny */ SELECT $$\n$$;\nSELECT 3")
        #expect(statements.map(\.line) == [1, 4, 6])
    }
}

import Testing
@testable import MathesarInit

/// A bundle directory held in memory: file name -> content.
private func reader(_ files: [String: String], directory: String = "/bundle") -> FileReader {
    FileReader(
        read: { path in
            guard path.hasPrefix(directory + "/"), let text = files[String(path.dropFirst(directory.count + 1))] else { return .failure(.missing) }
            return .success(Array(text.utf8))
        },
        list: { path in path == directory ? Array(files.keys) : nil })
}

private func load(_ files: [String: String]) -> Result<SchemaBundle, SchemaBundle.Problem> {
    SchemaBundle.load(directory: "/bundle", files: reader(files))
}

/// The problem a load reported, nil when it succeeded.
private func problem(_ result: Result<SchemaBundle, SchemaBundle.Problem>) -> SchemaBundle.Problem? {
    if case .failure(let problem) = result { problem } else { nil }
}

@Suite struct SchemaBundleTests {
    @Test func filesAreOrderedByNumberWithNameChecksumAndMarker() throws {
        let bundle = try load([
            "0002_email.sql": "CREATE DOMAIN msar.email AS text;\n",
            "0001_schema.sql": "CREATE SCHEMA msar;\n",
            "0003_index.sql": "-- mathesar:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);\n",
            "uninstall.sql": "DROP SCHEMA msar CASCADE;\n",
            "README.md": "not SQL, ignored",
        ]).get()
        #expect(bundle.files.map(\.version) == [1, 2, 3])
        #expect(bundle.files.map(\.name) == ["schema", "email", "index"])
        #expect(bundle.files.map(\.fileName) == ["0001_schema.sql", "0002_email.sql", "0003_index.sql"])
        #expect(bundle.files.map(\.transactional) == [true, true, false])
        #expect(bundle.files[0].checksum == SHA256.hex(Array("CREATE SCHEMA msar;\n".utf8)))
        #expect(bundle.latestVersion == 3)
        #expect(bundle.uninstallSQL == "DROP SCHEMA msar CASCADE;\n")
    }

    @Test func markerCountsOnlyOnTheFirstLine() throws {
        let bundle = try load([
            "0001_a.sql": "SELECT 1;\n-- mathesar:no-transaction\n",
            "0002_b.sql": "  -- mathesar:no-transaction  \r\nSELECT 1;\n",
        ]).get()
        #expect(bundle.files.map(\.transactional) == [true, false])
    }

    @Test func emptyDirectoryIsAnEmptyBundle() throws {
        let bundle = try load([:]).get()
        #expect(bundle.files.isEmpty && bundle.latestVersion == 0 && bundle.uninstallSQL == nil)
    }

    @Test func gapIsAProblem() {
        #expect(problem(load(["0001_a.sql": "", "0003_c.sql": ""])) == .gap(missing: 2))
        #expect(problem(load(["0002_b.sql": ""])) == .gap(missing: 1))
    }

    @Test func duplicateNumberIsAProblem() {
        #expect(problem(load(["0001_a.sql": "", "0001_b.sql": ""])) == .duplicate(1, ["0001_a.sql", "0001_b.sql"]))
    }

    @Test(arguments: ["1_a.sql", "00001_a.sql", "0001a.sql", "0001_.sql", "0001_a b.sql", "0000_zero.sql", "abcd_x.sql", "0001_é.sql"])
    func badNamesAreProblems(name: String) {
        #expect(problem(load([name: ""])) == .badName(name))
    }

    @Test func allowedNameCharacters() throws {
        let bundle = try load(["0001_Add-email.v2_x.sql": ""]).get()
        #expect(bundle.files[0].name == "Add-email.v2_x")
    }

    @Test func problemsReadAsSentences() {
        #expect(SchemaBundle.Problem.gap(missing: 7).description.contains("no file numbered 0007"))
        #expect(SchemaBundle.Problem.duplicate(2, ["0002_a.sql", "0002_b.sql"]).description == "has two files numbered 2: 0002_a.sql and 0002_b.sql")
    }

    @Test func missingDirectoryIsAProblem() {
        #expect(problem(SchemaBundle.load(directory: "/elsewhere", files: reader([:]))) == .notADirectory)
    }

    @Test func nonTextFileIsAProblem() {
        let files = FileReader(read: { _ in .success([0x53, 0xFF, 0x00]) }, list: { _ in ["0001_bin.sql"] })
        #expect(problem(SchemaBundle.load(directory: "/b", files: files)) == .notText("0001_bin.sql"))
    }
}

@Suite struct SHA256Tests {
    /// FIPS 180-4 examples and lengths around the padding boundaries (55, 56, 64 bytes).
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        (String(repeating: "a", count: 55), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
        (String(repeating: "a", count: 56), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
        (String(repeating: "a", count: 63), "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"),
        (String(repeating: "a", count: 64), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
        (String(repeating: "a", count: 65), "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"),
        (String(repeating: "a", count: 119), "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"),
        (String(repeating: "a", count: 120), "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"),
        ("é\n", "edd3a863872a04239eb29ad4bc12fc892b3d4ae57cc7e786a3697816f8e141c2"),
    ])
    func knownDigests(input: String, digest: String) {
        #expect(SHA256.hex(Array(input.utf8)) == digest)
    }

    @Test func millionAs() {
        let input = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA256.hex(input) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func digestIs32Bytes() {
        #expect(SHA256.digest([1, 2, 3]).count == 32)
    }
}

import Glibc
import Testing
@testable import MathesarInit

// MARK: PrivilegeDrop (the trampoline's argv)

private let user = UserIdentity(name: "app", uid: 999, gid: 995, groups: [995, 20], home: "/home/app")

@Test func trampolineForbidsPrivilegeGainByDefault() {
    let (path, argv) = PrivilegeDrop.wrap(executable: "/usr/bin/app", arguments: ["app", "--x"], user: user, selfPath: "/init")
    #expect(path == "/init")
    #expect(argv == ["/init", "__exec-as", "999:995:995,20:nnp", "/usr/bin/app", "app", "--x"])
}

@Test func trampolineAllowsPrivilegeGainOnlyWhenAsked() {
    let (_, argv) = PrivilegeDrop.wrap(executable: "/usr/bin/app", arguments: ["app"], user: user, selfPath: "/init",
                                       allowPrivilegeGain: true)
    #expect(argv[2] == "999:995:995,20:setuid")
}

// MARK: AtomicFile and FileSystem (root writing in directories others own)

@Test func atomicWriteIgnoresAPlantedTemporaryName() throws {
    let dir = TemporaryDirectory()
    let target = dir.file("outside", "precious\n", mode: 0o666)
    for pid in [1, getpid()] { #expect(link(target, dir.path + "/secret.tmp.\(pid)") == 0) }
    #expect(AtomicFile.write(path: dir.path + "/secret", contents: Array("new\n".utf8), mode: 0o600, durable: true) == nil)
    #expect(readTextFile(target) == "precious\n")
    #expect(readTextFile(dir.path + "/secret") == "new\n")
    var st = stat()
    #expect(lstat(target, &st) == 0 && st.st_mode & 0o777 == 0o666 && st.st_nlink == 3)
    // No temporary of its own is left behind.
    #expect((FileIO.list(dir.path) ?? []).filter { $0.hasPrefix("secret.tmp.") }.count == 2)
}

@Test func atomicWriteReplacesALinkInsteadOfWritingThroughIt() throws {
    let dir = TemporaryDirectory()
    let target = dir.file("outside", "precious\n")
    #expect(symlink(target, dir.path + "/conf") == 0)
    #expect(AtomicFile.write(path: dir.path + "/conf", contents: Array("mine\n".utf8), mode: 0o600, durable: false) == nil)
    #expect(readTextFile(target) == "precious\n")
    var st = stat()
    #expect(lstat(dir.path + "/conf", &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG)
}

@Test func removeTreeRemovesLinksWithoutFollowingThem() {
    let dir = TemporaryDirectory()
    let outside = dir.directory("outside")
    dir.file("outside/keep", "x")
    dir.file("tree/a/b/file", "y")
    #expect(symlink(outside, dir.path + "/tree/a/link-to-outside") == 0)
    #expect(symlink(outside, dir.path + "/tree/link-top") == 0)
    #expect(FileSystem.removeTree(dir.path + "/tree"))
    #expect(!FileIO.exists(dir.path + "/tree"))
    #expect(readTextFile(outside + "/keep") == "x")
}

@Test func removeTreeOfALinkRemovesTheLinkOnly() {
    let dir = TemporaryDirectory()
    let outside = dir.directory("outside")
    dir.file("outside/keep", "x")
    #expect(symlink(outside, dir.path + "/old") == 0)
    #expect(FileSystem.removeTree(dir.path + "/old"))
    #expect(!FileIO.exists(dir.path + "/old") && readTextFile(outside + "/keep") == "x")
}

@Test func readPrivateFileRefusesLinksHardLinksAndFIFOs() {
    let dir = TemporaryDirectory()
    let target = dir.file("target", "secret\n")
    dir.directory("d")
    symlink(target, dir.path + "/d/soft")
    link(target, dir.path + "/d/hard")
    mkfifo(dir.path + "/d/fifo", 0o600)
    dir.file("d/plain", "ok\n")
    let fd = open(dir.path + "/d", O_RDONLY | O_DIRECTORY)
    defer { close(fd) }
    for name in ["soft", "hard", "fifo"] {
        guard case .failure(.unreadable) = FileSystem.readPrivateFile(in: fd, name: name, limit: 100) else {
            Issue.record("\(name) was read")
            continue
        }
    }
    if case .success(let (bytes, file)) = FileSystem.readPrivateFile(in: fd, name: "plain", limit: 100) {
        close(file)
        #expect(bytes == Array("ok\n".utf8))
    } else {
        Issue.record("a plain file was refused")
    }
    guard case .failure(.missing) = FileSystem.readPrivateFile(in: fd, name: "absent", limit: 100) else {
        Issue.record("a missing file was not reported missing")
        return
    }
}

@Test(.enabled(if: geteuid() == 0)) func chownTreeLeavesAHardLinkToAnotherOwnersFileAlone() {
    let dir = TemporaryDirectory()
    let outside = dir.file("outside", "root's\n")
    dir.file("tree/own", "x")
    #expect(link(outside, dir.path + "/tree/planted") == 0)
    #expect(chown(dir.path + "/tree", 4242, 4242) == 0 && chown(dir.path + "/tree/own", 4242, 4242) == 0)
    #expect(FileSystem.chownTree(dir.path + "/tree", uid: 4343, gid: 4343) == 2)
    var st = stat()
    #expect(lstat(outside, &st) == 0 && st.st_uid == 0)
    #expect(lstat(dir.path + "/tree/own", &st) == 0 && st.st_uid == 4343)
    #expect(lstat(dir.path + "/tree", &st) == 0 && st.st_uid == 4343)
}

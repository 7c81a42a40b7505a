import Glibc
import Testing
@testable import MathesarInit

// How a child ended and whether its program can run: the shell's conventions
// (128+N for a signal, 127 not found, 126 not executable) that the contract
// makes PID 1's exit status.

@Test(arguments: [(ExitStatus.exited(0), Int32(0)), (.exited(1), 1), (.exited(255), 255),
                  (.signaled(SIGTERM), 143), (.signaled(SIGKILL), 137), (.signaled(SIGUSR1), 138), (.signaled(SIGUSR2), 140)])
func mapsAnExitStatusToTheShellCode(_ status: ExitStatus, _ code: Int32) {
    #expect(status.code == code)
}

@Test func decodesWaitStatusWords() {
    // Linux: exit code in bits 8-15, terminating signal in bits 0-6.
    #expect(ExitStatus(waitStatus: 3 << 8) == .exited(3))
    #expect(ExitStatus(waitStatus: 0) == .exited(0))
    #expect(ExitStatus(waitStatus: SIGTERM) == .signaled(SIGTERM))
    #expect(ExitStatus(waitStatus: SIGSEGV | 0x80) == .signaled(SIGSEGV))  // with a core dump
}

@Test func succeedsOnlyOnExitZero() {
    #expect(ExitStatus.exited(0).succeeded)
    #expect(!ExitStatus.exited(1).succeeded)
    #expect(!ExitStatus.signaled(SIGTERM).succeeded)
}

// MARK: CommandResolver

private func exitCode(_ result: Result<String, CommandResolver.Problem>) -> Int32? {
    if case .failure(let problem) = result { problem.exitCode } else { nil }
}

@Test func findsAProgramOnTheSearchPath() throws {
    let dir = TemporaryDirectory()
    dir.file("a/tool", "", mode: 0o644)  // earlier in PATH but not executable
    let found = dir.file("b/tool", "#!/bin/sh\n", mode: 0o755)
    #expect(try CommandResolver.resolve("tool", searchPath: "\(dir.path)/missing:\(dir.path)/a:\(dir.path)/b", user: nil).get() == found)
}

@Test func reportsAMissingProgramAsCommandNotFound() {
    let dir = TemporaryDirectory()
    let result = CommandResolver.resolve("no-such-tool", searchPath: dir.path, user: nil)
    guard case .failure(let problem) = result else {
        Issue.record("expected not found, got \(result)")
        return
    }
    #expect(problem.exitCode == 127)
    #expect(problem.message.contains("no-such-tool"))
    #expect(problem.message.contains(dir.path))
}

@Test func reportsAMissingAbsolutePathAsCommandNotFound() {
    let dir = TemporaryDirectory()
    #expect(exitCode(CommandResolver.resolve(dir.path + "/absent", searchPath: nil, user: nil)) == 127)
}

@Test func reportsAFileWithoutExecutePermissionAsNotExecutable() {
    let dir = TemporaryDirectory()
    let path = dir.file("script.sh", "#!/bin/sh\n", mode: 0o644)
    #expect(exitCode(CommandResolver.resolve(path, searchPath: nil, user: nil)) == 126)
    // Found on PATH but not executable: 126 too, not "not found".
    #expect(exitCode(CommandResolver.resolve("script.sh", searchPath: dir.path, user: nil)) == 126)
}

@Test func reportsADirectoryAsNotExecutable() {
    let dir = TemporaryDirectory()
    let sub = dir.directory("bin")
    guard case .failure(let problem) = CommandResolver.resolve(sub, searchPath: nil, user: nil) else {
        Issue.record("a directory resolved as a program")
        return
    }
    #expect(problem.exitCode == 126)
    #expect(problem.message.contains("directory"))
}

@Test func checksExecutePermissionForTheAppUser() {
    let dir = TemporaryDirectory()
    // Executable by its owner only.
    let path = dir.file("owner-only", "#!/bin/sh\n", mode: 0o700)
    let stranger = UserIdentity(name: "stranger", uid: 54321, gid: 54321, groups: [54321], home: "/")
    #expect(exitCode(CommandResolver.resolve(path, searchPath: nil, user: stranger)) == 126)
    let owner = UserIdentity(name: "me", uid: getuid(), gid: getgid(), groups: [getgid()], home: "/")
    #expect(CommandResolver.resolve(path, searchPath: nil, user: owner) == .success(path))
}

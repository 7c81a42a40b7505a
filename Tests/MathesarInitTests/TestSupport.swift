import Glibc
import MathesarInit

/// Swift Testing has an `ExitStatus` of its own (for exit tests); the tests mean the child's.
typealias ExitStatus = MathesarInit.ExitStatus

/// A fresh directory under /tmp, removed with its content when the test ends.
final class TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/mathesar-init-test.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(cString: made!)
    }

    deinit { FileSystem.removeTree(path) }

    /// Creates a file (and its missing parents) and returns its path.
    @discardableResult
    func file(_ name: String, _ contents: String = "", mode: mode_t = 0o644) -> String {
        let full = path + "/" + name
        directory(String(name.split(separator: "/").dropLast().joined(separator: "/")))
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, mode)
        precondition(fd >= 0, "cannot create \(full)")
        FileIO.writeAll(fd, Array(contents.utf8))
        fchmod(fd, mode)
        close(fd)
        return full
    }

    /// Creates a directory (and its parents) and returns its path.
    @discardableResult
    func directory(_ name: String) -> String {
        var current = path
        for part in name.split(separator: "/") {
            current += "/" + part
            mkdir(current, 0o755)
        }
        return current
    }

    @discardableResult
    func symlink(_ name: String, to target: String) -> String {
        let full = path + "/" + name
        Glibc.symlink(target, full)
        return full
    }
}

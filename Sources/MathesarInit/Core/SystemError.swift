import Glibc

/// The text of an errno value.
public func errnoText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}

/// The text of the current errno.
public func lastErrnoText() -> String { errnoText(errno) }

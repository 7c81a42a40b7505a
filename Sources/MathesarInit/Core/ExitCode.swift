/// The exit statuses of the contract ("Exit status").
public enum ExitCode {
    public static let usage: Int32 = 64
    public static let databaseUnavailable: Int32 = 69
    public static let internalError: Int32 = 70
    public static let volumeUnusable: Int32 = 73
    public static let crashLoop: Int32 = 75
    public static let migrationFailed: Int32 = 76
    public static let configuration: Int32 = 78
    /// The shell conventions for an app command that could not be started.
    public static let commandNotFound: Int32 = 127
    public static let commandNotExecutable: Int32 = 126
}

/// A failure that ends the process with a contract exit code and a message for the user.
public struct Failure: Error, CustomStringConvertible {
    public var code: Int32
    public var message: String

    public init(_ code: Int32, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

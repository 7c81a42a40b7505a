import Glibc
import MathesarInit

/// A minimal HTTP/1.1 GET over a socket, enough to ask the app whether it
/// answers: connect, send, read the status line, all within one deadline.
struct HTTPProbe {
    let url: HealthURL
    let timeout: Double
    /// The Host header's name (without port); the URL's host when nil.
    var hostHeader: String? = nil

    enum Outcome: Equatable {
        case status(Int)
        case failed(String)
    }

    func get() -> Outcome {
        let deadline = Instant.now().adding(seconds: timeout)
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(url.host, String(url.port), &hints, &list)
        guard rc == 0, let first = list else {
            return .failed("cannot resolve \(url.host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address for \(url.host)"
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { lastError = lastErrnoText(); continue }
            defer { close(fd) }
            if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 && errno != EINPROGRESS {
                lastError = "connect to \(url.host):\(url.port): \(lastErrnoText())"
                continue
            }
            guard wait(fd, for: Int16(POLLOUT), until: deadline) else { lastError = "connect to \(url.host):\(url.port): timed out"; continue }
            var soError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
            guard soError == 0 else { lastError = "connect to \(url.host):\(url.port): \(errnoText(soError))"; continue }
            let hostHeader = self.hostHeader ?? (url.host.contains(":") ? "[\(url.host)]" : url.host)
            let request = "GET \(url.path) HTTP/1.1\r\nHost: \(hostHeader):\(url.port)\r\nUser-Agent: mathesar-init-healthcheck\r\nAccept: */*\r\nConnection: close\r\n\r\n"
            guard FileIO.writeAll(fd, Array(request.utf8)) else { lastError = "sending the request failed: \(lastErrnoText())"; continue }
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 1024)
            while !received.contains(0x0A) && received.count < 8192 {
                guard wait(fd, for: Int16(POLLIN), until: deadline) else { return .failed("no answer from \(url.host):\(url.port) within \(formatDuration(timeout))") }
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                if n <= 0 { break }
                received += buffer[0..<n]
            }
            let line = String(decoding: received.prefix { $0 != 0x0A }, as: UTF8.self)
            let parts = line.split(separator: " ")
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let code = Int(parts[1]) else {
                return .failed("\(url.host):\(url.port) did not answer with HTTP")
            }
            return .status(code)
        }
        return .failed(lastError)
    }

    private func wait(_ fd: Int32, for events: Int16, until deadline: Instant) -> Bool {
        while true {
            let remaining = deadline.milliseconds(since: .now())
            if remaining <= 0 { return false }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let r = poll(&p, 1, Int32(remaining))
            if r < 0 && errno == EINTR { continue }
            return r > 0
        }
    }
}

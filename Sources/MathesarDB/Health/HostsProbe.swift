import Glibc
import MathesarInit

/// `__hosts-probe`: started by PID 1 beside the app, once per boot, when the
/// app has said it listens. Waits (at most `waitLimit`) until it answers at
/// MATHESAR_HEALTHCHECK_URL, then asks it once with each host name boot can predict users will open:
/// the hosts of DOMAIN_NAME and the container's own non-loopback addresses.
/// Mathesar answers a Host outside ALLOWED_HOSTS with a bare 400 and logs
/// nothing, so a 400 here is the one chance to say which variable to set.
/// Never fails boot: it only logs.
struct HostsProbe {
    let config: Configuration
    let logger: Logger

    static let waitLimit = 10.0

    func run() -> Int32 {
        guard let url = HealthURL.parse(config.healthcheckURL) else { return 0 }
        let names = HostsProbe.candidates(domainHosts: config.app.domainHosts)
        guard !names.isEmpty else { return 0 }
        guard waitForTheApp(url) else { return 0 }
        var refused: [(name: String, origin: String)] = []
        var accepted: [String] = []
        for (name, origin) in names {
            switch HTTPProbe(url: url, timeout: 3, hostHeader: name).get() {
            case .status(400): refused.append((name, origin))
            case .status: accepted.append(name)
            case .failed: break
            }
        }
        guard !refused.isEmpty else {
            if !accepted.isEmpty { logger.info("hosts: the app accepts requests for \(accepted.joined(separator: ", "))") }
            return 0
        }
        let list = refused.map { "\($0.name) (\($0.origin))" }.joined(separator: ", ")
        let suggestion = (config.app.allowedHosts + refused.map(\.name)).joined(separator: ",")
        logger.warning("hosts: the app answers 400 Bad Request to requests for \(list), so users who open it by \(refused.count == 1 ? "that name" : "these names") see only \"Bad Request\". Set ALLOWED_HOSTS to the names users open (e.g. ALLOWED_HOSTS=\"\(suggestion)\")\(config.app.domainHosts.isEmpty ? ", or DOMAIN_NAME to the address they open" : "")")
        return 0
    }

    /// Any HTTP answer means the app is up. Gives up after `waitLimit`, or
    /// when PID 1 is gone (the probe was re-parented).
    private func waitForTheApp(_ url: HealthURL) -> Bool {
        let parent = getppid()
        let host = AllowedHosts.healthcheckHost(urlHost: url.host, allowed: config.app.allowedHosts)
        let start = Instant.now()
        var delay = 0.05
        while true {
            if case .status = HTTPProbe(url: url, timeout: 3, hostHeader: host).get() { return true }
            if getppid() != parent || Instant.now().seconds(since: start) > HostsProbe.waitLimit { return false }
            Waiter.pause(delay)
            delay = min(delay * 2, 1)
        }
    }

    /// DOMAIN_NAME's hosts, then this container's addresses (IPv6 in brackets;
    /// loopback and link-local left out: users cannot open those from outside).
    static func candidates(domainHosts: [String]) -> [(name: String, origin: String)] {
        var names = domainHosts.map { (name: $0, origin: "DOMAIN_NAME") }
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return names }
        defer { freeifaddrs(list) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            cursor = entry.pointee.ifa_next
            guard let address = entry.pointee.ifa_addr, entry.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0,
                  entry.pointee.ifa_flags & UInt32(IFF_UP) != 0 else { continue }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            let family = Int32(address.pointee.sa_family)
            var name: String?
            if family == AF_INET {
                address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var addr = sin.pointee.sin_addr
                    if inet_ntop(AF_INET, &addr, &text, socklen_t(text.count)) != nil { name = String(cString: text) }
                }
            } else if family == AF_INET6 {
                address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    var addr = sin6.pointee.sin6_addr
                    if inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count)) != nil { name = "[" + String(cString: text) + "]" }
                }
            }
            guard let name, !name.hasPrefix("127."), !name.lowercased().hasPrefix("[fe80:"), name != "[::1]",
                  !names.contains(where: { $0.name == name }) else { continue }
            names.append((name, "this container's address"))
        }
        return names
    }
}

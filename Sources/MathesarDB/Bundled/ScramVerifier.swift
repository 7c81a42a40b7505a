import CLibCrypto
import MathesarInit

/// SCRAM-SHA-256 password verifiers as PostgreSQL stores them
/// (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, RFC 5803),
/// made and checked on this side with OpenSSL's PBKDF2. Checking lets boot
/// skip rewriting an unchanged password; making it here, before the server
/// is up, keeps the 4096 PBKDF2 rounds off boot's critical path.
enum ScramVerifier {
    static let iterations = 4096

    /// A new verifier with a random 16-byte salt.
    static func make(password: String) -> String? {
        var salt = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&salt, Int32(salt.count)) == 1 else { return nil }
        return make(password: password, salt: salt, iterations: iterations)
    }

    static func make(password: String, salt: [UInt8], iterations: Int) -> String? {
        guard let (storedKey, serverKey) = keys(password: password, salt: salt, iterations: iterations) else { return nil }
        return "SCRAM-SHA-256$\(iterations):\(Base64.encode(salt))$\(Base64.encode(storedKey)):\(Base64.encode(serverKey))"
    }

    /// Whether `verifier` was made from `password`. PostgreSQL normalizes
    /// non-ASCII passwords with SASLprep, which this does not: such a password
    /// never matches here, and is simply set again.
    static func matches(_ verifier: String, password: String) -> Bool {
        guard verifier.hasPrefix("SCRAM-SHA-256$") else { return false }
        let parts = verifier.dropFirst("SCRAM-SHA-256$".count).split(separator: "$")
        guard parts.count == 2 else { return false }
        let head = parts[0].split(separator: ":"), tail = parts[1].split(separator: ":")
        guard head.count == 2, tail.count == 2, let iterations = Int(head[0]), iterations > 0, iterations <= 1 << 20,
              let salt = Base64.decode(String(head[1])), let stored = Base64.decode(String(tail[0])),
              let server = Base64.decode(String(tail[1])),
              let (storedKey, serverKey) = keys(password: password, salt: salt, iterations: iterations)
        else { return false }
        return storedKey == stored && serverKey == server
    }

    private static func keys(password: String, salt: [UInt8], iterations: Int) -> ([UInt8], [UInt8])? {
        let secret = Array(password.utf8)
        var salted = [UInt8](repeating: 0, count: 32)
        let ok = secret.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { chars in
                PKCS5_PBKDF2_HMAC(chars.baseAddress, Int32(secret.count), salt, Int32(salt.count), Int32(iterations),
                                  EVP_sha256(), Int32(salted.count), &salted)
            }
        }
        guard ok == 1, let clientKey = hmac(salted, "Client Key"), let serverKey = hmac(salted, "Server Key") else { return nil }
        var storedKey = [UInt8](repeating: 0, count: 32)
        SHA256(clientKey, clientKey.count, &storedKey)
        return (storedKey, serverKey)
    }

    private static func hmac(_ key: [UInt8], _ message: String) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let data = Array(message.utf8)
        guard HMAC(EVP_sha256(), key, Int32(key.count), data, data.count, &out, &length) != nil, length == 32 else { return nil }
        return out
    }
}

/// Standard base64 (RFC 4648), as in SCRAM verifiers.
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        for chunk in stride(from: 0, to: bytes.count, by: 3) {
            let b = Array(bytes[chunk..<min(chunk + 3, bytes.count)]) + [0, 0]
            let n = UInt32(b[0]) << 16 | UInt32(b[1]) << 8 | UInt32(b[2])
            let count = min(3, bytes.count - chunk)
            for i in 0..<4 {
                out.append(i <= count ? alphabet[Int(n >> UInt32(18 - 6 * i) & 63)] : UInt8(ascii: "="))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        for c in text.utf8 where c != UInt8(ascii: "=") {
            guard let v = alphabet.firstIndex(of: c) else { return nil }
            values.append(UInt8(v))
        }
        var out: [UInt8] = []
        var i = 0
        while i + 1 < values.count {
            let n = (0..<4).reduce(UInt32(0)) { acc, k in acc << 6 | UInt32(i + k < values.count ? values[i + k] : 0) }
            let bytes = [UInt8(n >> 16 & 255), UInt8(n >> 8 & 255), UInt8(n & 255)]
            out.append(contentsOf: bytes.prefix(min(3, values.count - i - 1)))
            i += 4
        }
        return out
    }
}

import Crypto
import Foundation
import StowageModel

/// Access key ids that carry their account id, as AWS's do, so a lookup never needs a cross-tenant index.
///
/// Layout: `AKIA` + base32 of 10 bytes = 5 bytes of account number (12 digits fit in 40 bits) + 5 random bytes.
public enum AccessKeyID {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    /// Container instances' own credentials, issued at registration (`AKIA` is a user's key, `ASIA` a session's).
    public static let instancePrefix = "AIIA"

    public static func generate(account: String, prefix: String = "AKIA") -> String? {
        guard let number = UInt64(account), number < (1 << 40) else { return nil }
        var bytes = (0..<5).reversed().map { UInt8(truncatingIfNeeded: number >> (8 * UInt64($0))) }
        bytes += (0..<5).map { _ in UInt8.random(in: 0...255) }
        return prefix + base32(bytes)
    }

    /// The account an access key id belongs to, or nil when the id is not one of ours.
    public static func account(of keyId: String) -> String? {
        guard keyId.count == 20, keyId.hasPrefix("AKIA") || keyId.hasPrefix("ASIA") || keyId.hasPrefix(instancePrefix),
              let bytes = unbase32(String(keyId.dropFirst(4))), bytes.count == 10 else { return nil }
        let number = bytes.prefix(5).reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
        guard number >= 100_000_000_000, number <= 999_999_999_999 else { return nil }
        return String(number)
    }

    static func base32(_ bytes: [UInt8]) -> String {
        var out = ""
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return out
    }

    static func unbase32(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for ch in text {
            guard let value = alphabet.firstIndex(of: ch) else { return nil }
            buffer = (buffer << 5) | UInt32(value)
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> UInt32(bits - 8)) & 0xff))
                bits -= 8
            }
        }
        return out
    }

    /// A 40-character secret from 30 random bytes.
    public static func generateSecret() -> String {
        Data((0..<30).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    }

    /// A session token: opaque to clients, 48 random bytes.
    public static func generateToken() -> String {
        "IQoJb3Jp" + Data((0..<48).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    }

    /// A random 12-digit account id.
    public static func generateAccountId() -> String { String(UInt64.random(in: 100_000_000_000...999_999_999_999)) }
}

/// Seals secrets at rest with AES-GCM under the server key; the key id is bound in as associated data
/// so a sealed secret cannot be moved to another key's row. Earlier server keys may be given too: what they
/// sealed still opens, and `stowage admin rotate-key` reseals it under the current key.
public struct SecretSealer: Sendable {
    let keyBytes: Data
    /// Server keys replaced by this one, still accepted for opening until a rotation has resealed everything.
    let previous: [Data]
    var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    public init(keyBytes: Data, previous: [Data] = []) throws {
        guard keyBytes.count == 32, previous.allSatisfy({ $0.count == 32 }) else { throw APIError.server("A server key must be 32 bytes.") }
        self.keyBytes = keyBytes
        self.previous = previous
    }

    /// Parses the base64 server key as given in configuration (and the previous keys, if any).
    public init(base64Key: String, previous: [String] = []) throws {
        func decode(_ text: String) throws -> Data {
            guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw APIError.server("A server key is not valid base64.")
            }
            return data
        }
        try self.init(keyBytes: try decode(base64Key), previous: try previous.map(decode))
    }

    public static func generateKey() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString()
    }

    /// Names a server key without revealing it: rows record which key wrapped them, so a rotation knows what is left.
    public static func keyId(_ key: Data) -> String {
        String(Hex.encode(SHA256.hash(data: Data("stowage-server-key-id:".utf8) + key)).prefix(16))
    }

    /// The current key's id.
    public var keyId: String { Self.keyId(keyBytes) }

    public func seal(_ secret: String, keyId: String) throws -> Data {
        try sealData(Data(secret.utf8), context: keyId)
    }

    public func open(_ sealed: Data, keyId: String) throws -> String {
        String(decoding: try openData(sealed, context: keyId), as: UTF8.self)
    }

    /// Seals bytes under the current server key, bound to `context`.
    public func sealData(_ plain: Data, context: String) throws -> Data {
        let box = try AES.GCM.seal(plain, using: key, authenticating: Data(context.utf8))
        guard let combined = box.combined else { throw APIError.server("AES-GCM produced no output.") }
        return combined
    }

    /// Opens bytes sealed under the current key or a previous one.
    public func openData(_ sealed: Data, context: String) throws -> Data {
        let box = try AES.GCM.SealedBox(combined: sealed)
        var failure: (any Error)?
        for candidate in [keyBytes] + previous {
            do { return try AES.GCM.open(box, using: SymmetricKey(data: candidate), authenticating: Data(context.utf8)) } catch { failure = error }
        }
        throw failure ?? APIError.server("No server key opens this value.")
    }

    /// Whether the current key (not only a previous one) opens a sealed value: what rotation reseals.
    public func opensWithCurrent(_ sealed: Data, context: String) -> Bool {
        guard let box = try? AES.GCM.SealedBox(combined: sealed) else { return false }
        return (try? AES.GCM.open(box, using: key, authenticating: Data(context.utf8))) != nil
    }
}

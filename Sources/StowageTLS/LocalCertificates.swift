import Crypto
import Foundation
import SwiftASN1
import X509

/// A private certificate authority for one installation, so `stowage dev` (and an operator without a PKI) can
/// serve HTTPS and hand users a CA bundle to trust, as kind and minikube do, instead of plain HTTP or
/// verification turned off. Keys are P-256; the CA lives ten years, server certificates one.
public enum LocalCertificates {
    /// Where the files of a local CA and its server certificate live in a directory.
    public struct Paths: Sendable, Equatable {
        public var directory: String
        public var authority: String { directory + "/ca.pem" }
        public var authorityKey: String { directory + "/ca-key.pem" }
        public var certificate: String { directory + "/server.pem" }
        public var key: String { directory + "/server-key.pem" }
        public init(directory: String) { self.directory = directory }
    }

    public struct Issued: Sendable {
        public var certificatePEM: String
        public var privateKeyPEM: String
    }

    /// Makes a CA (a self-signed certificate allowed to sign server certificates, and nothing below them).
    public static func makeAuthority(commonName: String, now: Date = Date()) throws -> Issued {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("Stowage")
            CommonName(commonName)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(3650 * 86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(keyIdentifier: keyIdentifier(key.publicKey))
            },
            issuerPrivateKey: .init(key))
        return Issued(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
    }

    /// Issues a server certificate for DNS names and IP addresses, signed by the CA given as PEM.
    public static func issueServer(names: [String], authority: Issued, now: Date = Date()) throws -> Issued {
        let caCertificate = try Certificate(pemEncoded: authority.certificatePEM)
        let caKey = try P256.Signing.PrivateKey(pemRepresentation: authority.privateKeyPEM)
        let key = P256.Signing.PrivateKey()
        let alternatives = try names.map { name throws -> GeneralName in
            if let bytes = ipAddressBytes(name) { return .ipAddress(ASN1OctetString(contentBytes: bytes[...])) }
            guard isNameOrAddress(name) else {
                throw LocalCertificatesError(message: "'\(name)' is neither a host name nor an IP address")
            }
            return .dnsName(name)
        }
        let subject = try DistinguishedName {
            OrganizationName("Stowage")
            CommonName(names.first ?? "stowage")
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(365 * 86_400),
            issuer: caCertificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(alternatives)
                SubjectKeyIdentifier(keyIdentifier: keyIdentifier(key.publicKey))
                AuthorityKeyIdentifier(keyIdentifier: keyIdentifier(caKey.publicKey))
            },
            issuerPrivateKey: .init(caKey))
        return Issued(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
    }

    /// Makes the CA in a directory when it has none, and a server certificate for `names` when there is none or
    /// the one there does not cover them (or expires within 30 days). Keys are written 0600.
    @discardableResult
    public static func ensure(directory: String, names: [String], now: Date = Date()) throws -> Paths {
        let paths = Paths(directory: directory)
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let authority: Issued
        if let certificate = try? String(contentsOfFile: paths.authority, encoding: .utf8),
           let key = try? String(contentsOfFile: paths.authorityKey, encoding: .utf8) {
            authority = Issued(certificatePEM: certificate, privateKeyPEM: key)
        } else {
            authority = try makeAuthority(commonName: "Stowage local CA (\(ProcessInfo.processInfo.hostName))", now: now)
            try write(authority.privateKeyPEM, to: paths.authorityKey, mode: 0o600)
            try write(authority.certificatePEM, to: paths.authority, mode: 0o644)
        }
        if let text = try? String(contentsOfFile: paths.certificate, encoding: .utf8), fm.fileExists(atPath: paths.key),
           let existing = try? Certificate(pemEncoded: text), covers(existing, names: names),
           existing.notValidAfter > now.addingTimeInterval(30 * 86_400) {
            return paths
        }
        let server = try issueServer(names: names, authority: authority, now: now)
        try write(server.privateKeyPEM, to: paths.key, mode: 0o600)
        try write(server.certificatePEM, to: paths.certificate, mode: 0o644)
        return paths
    }

    /// Whether a certificate can name this: an IP address, or a DNS name of letters, digits, '-', '.' and '*'.
    public static func isNameOrAddress(_ name: String) -> Bool {
        ipAddressBytes(name) != nil || (!name.isEmpty && name.count <= 253
            && name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-.*".unicodeScalars.contains($0)) })
    }

    /// Whether a certificate's subject alternative names include every name.
    static func covers(_ certificate: Certificate, names: [String]) -> Bool {
        guard let san = try? certificate.extensions.subjectAlternativeNames else { return false }
        let present = Set(san.compactMap { name -> String? in
            switch name {
            case .dnsName(let dns): return dns
            case .ipAddress(let octets): return ipAddressText(Array(octets.bytes))
            default: return nil
            }
        })
        return names.allSatisfy { present.contains(ipAddressBytes($0).flatMap(ipAddressText) ?? $0) }
    }

    /// Written beside and renamed over, so a server watching the file never reads half of one.
    static func write(_ text: String, to path: String, mode: Int) throws {
        let staging = path + ".new"
        guard FileManager.default.createFile(atPath: staging, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
            throw LocalCertificatesError(message: "cannot write \(staging)")
        }
        guard rename(staging, path) == 0 else { throw LocalCertificatesError(message: "cannot rename \(staging) to \(path) (errno \(errno))") }
    }

    static func keyIdentifier(_ key: P256.Signing.PublicKey) -> ArraySlice<UInt8> {
        ArraySlice(Insecure.SHA1.hash(data: key.x963Representation))
    }

    /// The 4 or 16 bytes of an IPv4 or IPv6 address, or nil for a host name.
    static func ipAddressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    static func ipAddressText(_ bytes: [UInt8]) -> String? {
        let family = bytes.count == 4 ? AF_INET : bytes.count == 16 ? AF_INET6 : nil
        guard let family else { return nil }
        var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &out, socklen_t(out.count)) }
        guard ok != nil else { return nil }
        return String(decoding: out.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

public struct LocalCertificatesError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

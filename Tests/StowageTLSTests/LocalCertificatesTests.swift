import Foundation
import NIOSSL
import Testing
import X509

@testable import StowageTLS

@Suite struct LocalCertificatesTests {
    func temporaryDirectory() -> String {
        NSTemporaryDirectory() + "stowage-tls-\(UUID().uuidString)"
    }

    @Test func theServerCertificateIsSignedByTheAuthorityAndNamesItsHosts() throws {
        let authority = try LocalCertificates.makeAuthority(commonName: "test CA")
        let server = try LocalCertificates.issueServer(names: ["localhost", "127.0.0.1", "::1", "stowage.internal"], authority: authority)
        let ca = try Certificate(pemEncoded: authority.certificatePEM)
        let leaf = try Certificate(pemEncoded: server.certificatePEM)
        #expect(leaf.issuer == ca.subject)
        #expect(ca.publicKey.isValidSignature(leaf.signature, for: leaf), "signed by the CA's key")
        #expect(try ca.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
        #expect(try leaf.extensions.basicConstraints == .notCertificateAuthority)
        #expect(LocalCertificates.covers(leaf, names: ["localhost", "127.0.0.1", "::1", "stowage.internal"]))
        #expect(!LocalCertificates.covers(leaf, names: ["other.example"]))
        // NIOSSL (BoringSSL) reads what we wrote: the pair a server loads.
        _ = try NIOSSLCertificate(bytes: Array(server.certificatePEM.utf8), format: .pem)
        _ = try NIOSSLPrivateKey(bytes: Array(server.privateKeyPEM.utf8), format: .pem)
    }

    @Test func ensureKeepsTheAuthorityAndReissuesOnlyWhenNamesChange() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let paths = try LocalCertificates.ensure(directory: directory, names: ["localhost"])
        let ca = try String(contentsOfFile: paths.authority, encoding: .utf8)
        let first = try String(contentsOfFile: paths.certificate, encoding: .utf8)
        let keyMode = try FileManager.default.attributesOfItem(atPath: paths.key)[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        try LocalCertificates.ensure(directory: directory, names: ["localhost"])
        #expect(try String(contentsOfFile: paths.certificate, encoding: .utf8) == first, "covered names: kept")
        try LocalCertificates.ensure(directory: directory, names: ["localhost", "10.0.0.7"])
        let second = try String(contentsOfFile: paths.certificate, encoding: .utf8)
        #expect(second != first, "a new name: a new certificate")
        #expect(try String(contentsOfFile: paths.authority, encoding: .utf8) == ca, "under the same CA")
        #expect(LocalCertificates.covers(try Certificate(pemEncoded: second), names: ["10.0.0.7", "localhost"]))
    }

    @Test func badNamesAreRefused() {
        #expect(throws: LocalCertificatesError.self) {
            try LocalCertificates.issueServer(names: ["bad name"], authority: try LocalCertificates.makeAuthority(commonName: "x"))
        }
        #expect(LocalCertificates.isNameOrAddress("fe80::1"))
        #expect(!LocalCertificates.isNameOrAddress("under_score"))
    }

    @Test func plainHTTPStaysOnLoopbackUnlessAllowed() throws {
        for host in ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost"] { #expect(PlainHTTP.isLoopback(host), "\(host)") }
        for host in ["0.0.0.0", "10.0.0.1", "::", "example.com", "128.0.0.1"] { #expect(!PlainHTTP.isLoopback(host), "\(host)") }
        #expect(throws: LocalCertificatesError.self) { try PlainHTTP.checkListener(host: "0.0.0.0", port: 8080, allowed: false) }
        try PlainHTTP.checkListener(host: "0.0.0.0", port: 8080, allowed: true)
        try PlainHTTP.checkListener(host: "127.0.0.1", port: 8080, allowed: false)
        #expect(throws: LocalCertificatesError.self) { try PlainHTTP.checkEndpoint("http://10.1.2.3:8080", allowed: false) }
        #expect(throws: LocalCertificatesError.self) { try PlainHTTP.checkEndpoint("ftp://127.0.0.1", allowed: false) }
        try PlainHTTP.checkEndpoint("https://10.1.2.3:8443", allowed: false)
        try PlainHTTP.checkEndpoint("http://127.0.0.1:8080", allowed: false)
        try PlainHTTP.checkEndpoint("http://10.1.2.3:8080", allowed: true)
    }
}

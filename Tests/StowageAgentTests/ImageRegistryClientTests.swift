import Foundation
import StowageModel
import Testing
@testable import StowageAgent

/// Issue 23 item 10: what the registry client gives a registry the tenant named, against real HTTP servers on
/// loopback: plain HTTP only to this machine by address, the password to a token service only on the registry's
/// own site over HTTPS (or both on this machine), redirects checked hop by hop.
@Suite struct ImageRegistryClientTests {
    let client = ImageRegistryClient(client: ImageRegistryClient.sharedClient)
    let credentials = ImageRegistryCredentials(username: "puller", password: "s3cret", registry: "r")
    static let digest = "sha256:" + String(repeating: "ab", count: 32)

    @Test func aTokenServiceGetsTheCredentialsOnlyOnTheRegistrysSite() async {
        #expect(ImageRegistryClient.site("registry-1.docker.io") == ImageRegistryClient.site("auth.docker.io"))
        #expect(ImageRegistryClient.site("registry.gitlab.com") == "gitlab.com")
        #expect(ImageRegistryClient.site("a.example.co.uk") == "example.co.uk")
        #expect(ImageRegistryClient.site("evil.co.uk") != ImageRegistryClient.site("example.co.uk"))
        func may(_ realm: String, _ registry: String) async -> Bool {
            guard let realm = URL(string: realm), let registry = URL(string: registry) else { return false }
            return await ImageRegistryClient.mayReceiveCredentials(realm: realm, registry: registry)
        }
        #expect(await may("https://auth.docker.io/token", "https://registry-1.docker.io/v2/x"))
        #expect(await !may("http://auth.docker.io/token", "https://registry-1.docker.io/v2/x"), "never in clear")
        #expect(await !may("https://collector.evil.test/token", "https://registry-1.docker.io/v2/x"), "never to another site")
        #expect(await may("http://127.0.0.1:1/token", "http://127.0.0.1:2/v2/x"), "both on this machine")
        #expect(await !may("http://127.0.0.1:1/token", "https://registry.example.com/v2/x"))
    }

    /// A registry that challenges for a token from a realm elsewhere: the lookup fails naming the realm and the
    /// password goes nowhere but the registry itself.
    @Test func aForeignRealmIsRefusedBeforeAnyCredentialIsSent() async throws {
        let registry = try TinyHTTPServer { _ in
            (401, [("WWW-Authenticate", #"Bearer realm="https://collector.evil.test/token",service="r""#)], "")
        }
        defer { registry.stop() }
        let reference = "127.0.0.1:\(registry.port)/team/app:1"
        do {
            _ = try await client.digest(of: reference, credentials: credentials)
            Issue.record("the lookup succeeded")
        } catch RuntimeError.pullFailed(_, let message) {
            #expect(message.contains("collector.evil.test") && message.contains("not sent"), "\(message)")
        }
        #expect(registry.requests.count == 1, "one challenge, then nothing more")
    }

    /// A token service on this machine (with the registry) gets the password and its token is used.
    @Test func aLocalTokenServiceIsAsked() async throws {
        let tokens = try TinyHTTPServer { seen in
            seen.headers["authorization"] == ImageRegistryClient.basic(ImageRegistryCredentials(username: "puller", password: "s3cret", registry: "r"))
                ? (200, [("Content-Type", "application/json")], #"{"token":"good"}"#) : (401, [], "")
        }
        defer { tokens.stop() }
        let registry = try TinyHTTPServer { seen in
            seen.headers["authorization"] == "Bearer good"
                ? (200, [("Docker-Content-Digest", Self.digest)], "")
                : (401, [("WWW-Authenticate", #"Bearer realm="http://127.0.0.1:\#(tokens.port)/token",service="r""#)], "")
        }
        defer { registry.stop() }
        #expect(try await client.digest(of: "127.0.0.1:\(registry.port)/team/app:1", credentials: credentials) == Self.digest)
        #expect(tokens.requests.count == 1)
    }

    /// A redirect to another origin keeps the request but not the Authorization; one to plain HTTP off this
    /// machine is not followed.
    @Test func redirectsAreCheckedHopByHop() async throws {
        let elsewhere = try TinyHTTPServer { _ in (200, [("Docker-Content-Digest", Self.digest)], "") }
        defer { elsewhere.stop() }
        let registry = try TinyHTTPServer { seen in
            seen.line.contains("/offsite/") ? (307, [("Location", "http://10.0.0.1/v2/x/manifests/1")], "")
                : (307, [("Location", "http://127.0.0.1:\(elsewhere.port)/v2/team/app/manifests/1")], "")
        }
        defer { registry.stop() }
        #expect(try await client.digest(of: "127.0.0.1:\(registry.port)/team/app:1", credentials: credentials) == Self.digest)
        #expect(registry.requests.first?.headers["authorization"] != nil, "the registry itself gets the credentials")
        #expect(elsewhere.requests.count == 1 && elsewhere.requests.first?.headers["authorization"] == nil,
                "another origin does not: \(elsewhere.requests.map(\.headers))")
        do {
            _ = try await client.digest(of: "127.0.0.1:\(registry.port)/offsite/app:1", credentials: credentials)
            Issue.record("a redirect to plain HTTP off this machine was followed")
        } catch RuntimeError.pullFailed(_, let message) {
            #expect(message.contains("10.0.0.1") && message.contains("not this machine"), "\(message)")
        }
    }
}

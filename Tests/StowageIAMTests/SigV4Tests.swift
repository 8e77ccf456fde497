import Crypto
import Foundation
import StowageIAM
import StowageModel
import StowageSigning
import Synchronization
import Testing

/// A clock the test sets.
final class TestClock: WallClock {
    let value: Mutex<Date>
    init(_ date: Date) { value = Mutex(date) }
    func now() -> Date { value.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { value.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// Counts credential lookups so the cache's effect is observable.
final class CountingLookup: Sendable {
    let count = Atomic<Int>(0)
    let credentials: [String: Credential]
    init(_ credentials: [String: Credential]) { self.credentials = credentials }
    func callAsFunction(_ id: String) -> Credential? {
        count.add(1, ordering: .relaxed)
        return credentials[id]
    }
}

@Suite struct SigV4Tests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let vectorDate = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z

    func vanilla(query: String = "") -> SignableRequest {
        SignableRequest(method: "GET", path: "/", query: query,
                        headers: ["host": ["example.amazonaws.com"], "x-amz-date": ["20150830T123600Z"]], body: Data())
    }

    /// AWS's published Signature Version 4 test vectors (also reproduced with botocore).
    @Test func queriesSignedAsSentAreSortedButNotReencoded() {
        #expect(SigV4.sentQuery("b=2&action=ecs:RunTask&a") == "a=&action=ecs:RunTask&b=2")
        #expect(SigV4.canonicalQuery("b=2&action=ecs:RunTask&a") == "a=&action=ecs%3ARunTask&b=2")
        #expect(SigV4.sentQuery("X-Amz-Signature=abc&x=1", excluding: "X-Amz-Signature") == "x=1")
    }

    @Test func awsTestVectors() {
        let key = SigV4.signingKey(secret: Self.secret, date: "20150830", region: "us-east-1", service: "service")
        let scope = "20150830/us-east-1/service/aws4_request"
        func signature(_ request: SignableRequest, path: String) -> String {
            let canonical = SigV4.canonicalRequest(request, canonicalURI: SigV4.uriEncode(path, keepSlash: true),
                                                   signedHeaders: ["host", "x-amz-date"], payloadHash: request.bodySHA256)
            return SigV4.signature(key: key, stringToSign: SigV4.stringToSign(amzDate: "20150830T123600Z", scope: scope, canonicalRequest: canonical))
        }
        #expect(signature(vanilla(), path: "/") == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        #expect(signature(vanilla(query: "Param2=value2&Param1=value1"), path: "/")
            == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
        let post = SignableRequest(method: "POST", path: "/v1/a%20b:c", query: "x=a%2Fb",
                                   headers: ["host": ["example.amazonaws.com"], "x-amz-date": ["20150830T123600Z"]],
                                   body: Data(#"{"a":1}"#.utf8))
        #expect(signature(post, path: "/v1/a%20b:c") == "09a97125b7fd042370f8510f3362fa0d95a8d466f1edb157652339b9124a2f18")
    }

    @Test func amzDateRoundTrips() throws {
        #expect(SigV4.amzDate(Self.vectorDate) == "20150830T123600Z")
        #expect(SigV4.parseAmzDate("20150830T123600Z") == Self.vectorDate)
        #expect(SigV4.parseAmzDate("2015-08-30T12:36") == nil)
        let leap = try #require(SigV4.parseAmzDate("20240229T235959Z"))
        #expect(SigV4.amzDate(leap) == "20240229T235959Z")
    }

    func verifier(clock: TestClock, lookup: CountingLookup, ttl: TimeInterval = 60) -> SigV4Verifier {
        SigV4Verifier(cache: CredentialCache(ttl: ttl, clock: clock), clock: clock) { id in lookup(id) }
    }

    static let principal = Principal(accountId: "123456789012", arn: "arn:aws:iam::123456789012:user/alice",
                                     userName: "alice", accessKeyId: "AKIDEXAMPLE")

    func signed(body: String = "{}", at date: Date, secret: String = secret, mutate: (inout SignableRequest) -> Void = { _ in })
        -> SignableRequest
    {
        var request = SignableRequest(method: "POST", path: "/", query: "", headers: ["host": ["localhost:8080"]], body: Data(body.utf8))
        let signer = SigV4Signer(accessKeyId: "AKIDEXAMPLE", secret: secret)
        for (name, value) in signer.sign(request, at: date) { request.headers[name.lowercased()] = [value] }
        mutate(&request)
        return request
    }

    @Test func verifiesWhatTheSignerSigns() async throws {
        let clock = TestClock(Self.vectorDate)
        let lookup = CountingLookup(["AKIDEXAMPLE": Credential(secret: Self.secret, principal: Self.principal)])
        let v = verifier(clock: clock, lookup: lookup)
        let verified = try await v.verify(signed(at: clock.now()))
        #expect(verified.principal == Self.principal)
        #expect(verified.service == "ecs")
        _ = try await v.verify(signed(at: clock.now()))
        #expect(lookup.count.load(ordering: .relaxed) == 1, "the second request must be served from the cache")
        clock.advance(61)
        _ = try await v.verify(signed(at: clock.now()))
        #expect(lookup.count.load(ordering: .relaxed) == 2, "an expired cache entry is looked up again")
    }

    func code(_ body: () async throws -> Void) async -> String {
        do { try await body(); return "" } catch let e as APIError { return e.code } catch { return "\(error)" }
    }

    @Test func rejectsBadSignaturesWithAWSNames() async {
        let clock = TestClock(Self.vectorDate)
        let lookup = CountingLookup(["AKIDEXAMPLE": Credential(secret: Self.secret, principal: Self.principal)])
        let v = verifier(clock: clock, lookup: lookup)
        let now = clock.now()
        #expect(await code { _ = try await v.verify(signed(at: now, secret: "wrong")) } == "InvalidSignatureException")
        #expect(await code { _ = try await v.verify(signed(at: now) { $0.bodySHA256 = Hex.encode(SHA256.hash(data: Array("tampered".utf8))); $0.headers["x-amz-content-sha256"] = nil }) } == "InvalidSignatureException")
        #expect(await code { _ = try await v.verify(signed(at: now) { $0.headers["x-amz-content-sha256"] = [String(repeating: "0", count: 64)] }) } == "XAmzContentSHA256Mismatch")
        #expect(await code { _ = try await v.verify(signed(at: now.addingTimeInterval(-16 * 60))) } == "InvalidSignatureException")
        #expect(await code { _ = try await v.verify(signed(at: now.addingTimeInterval(16 * 60))) } == "InvalidSignatureException")
        #expect(await code { _ = try await v.verify(signed(at: now.addingTimeInterval(-14 * 60))) } == "")
        #expect(await code { _ = try await v.verify(signed(at: now) { $0.headers["authorization"] = nil }) } == "MissingAuthenticationTokenException")
        #expect(await code { _ = try await v.verify(signed(at: now) { $0.headers["authorization"] = ["AWS4-HMAC-SHA256 Credential=x"] }) } == "IncompleteSignatureException")
        let unknown = CountingLookup([:])
        #expect(await code { _ = try await verifier(clock: clock, lookup: unknown).verify(signed(at: now)) } == "UnrecognizedClientException")
    }

    @Test func presignedGet() async throws {
        let clock = TestClock(Self.vectorDate)
        let lookup = CountingLookup(["AKIDEXAMPLE": Credential(secret: Self.secret, principal: Self.principal)])
        let v = verifier(clock: clock, lookup: lookup)
        let amzDate = SigV4.amzDate(clock.now())
        let credential = "AKIDEXAMPLE/\(amzDate.prefix(8))/us-east-1/ecs/aws4_request"
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=\(SigV4.uriEncode(credential, keepSlash: false))"
            + "&X-Amz-Date=\(amzDate)&X-Amz-Expires=60&X-Amz-SignedHeaders=host"
        var request = SignableRequest(method: "GET", path: "/v1/clusters", query: query,
                                      headers: ["host": ["localhost:8080"]], body: Data())
        let canonical = SigV4.canonicalRequest(request, canonicalURI: "/v1/clusters", signedHeaders: ["host"], payloadHash: "UNSIGNED-PAYLOAD")
        let key = SigV4.signingKey(secret: Self.secret, date: String(amzDate.prefix(8)), region: "us-east-1", service: "ecs")
        let signature = SigV4.signature(key: key, stringToSign: SigV4.stringToSign(
            amzDate: amzDate, scope: "\(amzDate.prefix(8))/us-east-1/ecs/aws4_request", canonicalRequest: canonical))
        request.query += "&X-Amz-Signature=\(signature)"
        #expect(try await v.verify(request).principal == Self.principal)
        clock.advance(61)
        #expect(await code { _ = try await v.verify(request) } == "InvalidSignatureException")
    }
}

@Suite struct AccessKeyTests {
    @Test func keyIdsCarryTheirAccount() throws {
        for _ in 0..<200 {
            let account = AccessKeyID.generateAccountId()
            let id = try #require(AccessKeyID.generate(account: account))
            #expect(id.count == 20 && id.hasPrefix("AKIA"))
            #expect(AccessKeyID.account(of: id) == account)
        }
        #expect(AccessKeyID.account(of: "AKIDEXAMPLE") == nil)
        #expect(AccessKeyID.account(of: "AKIA0000000000000000") == nil)
    }

    @Test func sealedSecretsOpenOnlyForTheirKey() throws {
        let sealer = try SecretSealer(base64Key: SecretSealer.generateKey())
        let sealed = try sealer.seal("s3cret", keyId: "AKIAONE")
        #expect(try sealer.open(sealed, keyId: "AKIAONE") == "s3cret")
        #expect(throws: (any Error).self) { try sealer.open(sealed, keyId: "AKIATWO") }
        let other = try SecretSealer(base64Key: SecretSealer.generateKey())
        #expect(throws: (any Error).self) { try other.open(sealed, keyId: "AKIAONE") }
        #expect(!sealed.contains(Data("s3cret".utf8)))
    }
}

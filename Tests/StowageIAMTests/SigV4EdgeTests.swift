import Foundation
import StowageIAM
import StowageModel
import StowageSigning
import Synchronization
import Testing

/// Issue 23 item 6: presigned dates and lifetimes, unsigned payloads in the header form, unknown keys.
@Suite struct SigV4EdgeTests {
    static let secret = SigV4Tests.secret
    static let principal = SigV4Tests.principal
    static let now = SigV4Tests.vectorDate

    func verifier(_ clock: TestClock, _ lookup: CountingLookup, cache: CredentialCache? = nil) -> SigV4Verifier {
        SigV4Verifier(cache: cache ?? CredentialCache(clock: clock), clock: clock) { id in lookup(id) }
    }

    func known() -> CountingLookup { CountingLookup(["AKIDEXAMPLE": Credential(secret: Self.secret, principal: Self.principal)]) }

    /// A presigned GET as botocore builds one: signed at `signedAt`, valid for `expires` seconds.
    func presigned(at signedAt: Date, expires: Int, key: String = "AKIDEXAMPLE") -> SignableRequest {
        let amzDate = SigV4.amzDate(signedAt)
        let credential = "\(key)/\(amzDate.prefix(8))/us-east-1/ecs/aws4_request"
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=\(SigV4.uriEncode(credential, keepSlash: false))"
            + "&X-Amz-Date=\(amzDate)&X-Amz-Expires=\(expires)&X-Amz-SignedHeaders=host"
        var request = SignableRequest(method: "GET", path: "/v1/clusters", query: query, headers: ["host": ["localhost:8080"]], body: Data())
        let canonical = SigV4.canonicalRequest(request, canonicalURI: "/v1/clusters", signedHeaders: ["host"], payloadHash: "UNSIGNED-PAYLOAD")
        let signingKey = SigV4.signingKey(secret: Self.secret, date: String(amzDate.prefix(8)), region: "us-east-1", service: "ecs")
        let signature = SigV4.signature(key: signingKey, stringToSign: SigV4.stringToSign(
            amzDate: amzDate, scope: "\(amzDate.prefix(8))/us-east-1/ecs/aws4_request", canonicalRequest: canonical))
        request.query += "&X-Amz-Signature=\(signature)"
        return request
    }

    func refusal(_ body: () async throws -> Void) async -> APIError? {
        do { try await body(); return nil } catch let e as APIError { return e } catch { return APIError("Unexpected", "\(error)") }
    }

    @Test func aPresignedDateInTheFutureIsRefusedBeyondTheSkewWindow() async {
        let clock = TestClock(Self.now)
        let lookup = known()
        let v = verifier(clock, lookup)
        // Signed 8 days ahead with 7 days of life: it would be good for 15 days from now.
        let future = await refusal { _ = try await v.verify(presigned(at: Self.now.addingTimeInterval(8 * 86400), expires: 604_800)) }
        #expect(future?.code == "InvalidSignatureException")
        #expect(future?.message.contains("not yet current") == true, "\(String(describing: future))")
        #expect(await refusal { _ = try await v.verify(presigned(at: Self.now.addingTimeInterval(16 * 60), expires: 60)) }?.code
            == "InvalidSignatureException")
        #expect(lookup.count.load(ordering: .relaxed) == 0, "refused before any key lookup")
        #expect(await refusal { _ = try await v.verify(presigned(at: Self.now.addingTimeInterval(14 * 60), expires: 60)) } == nil,
                "a clock a little ahead is within the window")
    }

    @Test func presignedLifetimeIsCappedAtSevenDays() async {
        let clock = TestClock(Self.now)
        let v = verifier(clock, known())
        let eightDays = await refusal { _ = try await v.verify(presigned(at: Self.now, expires: 8 * 86400)) }
        #expect(eightDays?.code == "IncompleteSignatureException")
        #expect(eightDays?.message.contains("604800") == true)
        #expect(await refusal { _ = try await v.verify(presigned(at: Self.now, expires: 604_801)) }?.code == "IncompleteSignatureException")
        #expect(await refusal { _ = try await v.verify(presigned(at: Self.now, expires: 0)) }?.code == "IncompleteSignatureException")
        // Signed six days ago for seven: still good; signed eight days ago for seven: expired.
        #expect(await refusal { _ = try await v.verify(presigned(at: Self.now.addingTimeInterval(-6 * 86400), expires: 604_800)) } == nil)
        #expect(await refusal { _ = try await v.verify(presigned(at: Self.now.addingTimeInterval(-8 * 86400), expires: 604_800)) }?.code
            == "InvalidSignatureException")
    }

    /// A header-signed request whose canonical request really used UNSIGNED-PAYLOAD (so the signature is right
    /// for it) is refused all the same: its body is not covered.
    @Test func theHeaderFormRefusesAnUnsignedPayload() async {
        let clock = TestClock(Self.now)
        let lookup = known()
        let v = verifier(clock, lookup)
        let amzDate = SigV4.amzDate(Self.now)
        var request = SignableRequest(method: "POST", path: "/", query: "",
                                      headers: ["host": ["localhost:8080"], "x-amz-date": [amzDate], "x-amz-content-sha256": ["UNSIGNED-PAYLOAD"]],
                                      body: Data(#"{"clusterName":"x"}"#.utf8))
        let signed = ["host", "x-amz-content-sha256", "x-amz-date"]
        let scope = "\(amzDate.prefix(8))/us-east-1/ecs/aws4_request"
        let canonical = SigV4.canonicalRequest(request, canonicalURI: "/", signedHeaders: signed, payloadHash: "UNSIGNED-PAYLOAD")
        let signature = SigV4.signature(
            key: SigV4.signingKey(secret: Self.secret, date: String(amzDate.prefix(8)), region: "us-east-1", service: "ecs"),
            stringToSign: SigV4.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical))
        request.headers["authorization"] = ["AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\(scope), SignedHeaders=\(signed.joined(separator: ";")), Signature=\(signature)"]
        let refused = await refusal { _ = try await v.verify(request) }
        #expect(refused?.code == "InvalidSignatureException")
        #expect(refused?.message.contains("UNSIGNED-PAYLOAD") == true)
        #expect(lookup.count.load(ordering: .relaxed) == 0)
        // The same request signed over its body's hash passes.
        let proper = SigV4Tests().signed(body: #"{"clusterName":"x"}"#, at: Self.now)
        #expect(await refusal { _ = try await v.verify(proper) } == nil)
    }

    @Test func anUnknownKeyIsLookedUpOncePerMinute() async {
        let clock = TestClock(Self.now)
        let nobody = CountingLookup([:])
        let v = verifier(clock, nobody)
        for _ in 0..<50 {
            #expect(await refusal { _ = try await v.verify(SigV4Tests().signed(at: clock.now())) }?.code == "UnrecognizedClientException")
        }
        #expect(nobody.count.load(ordering: .relaxed) == 1, "49 repeats answered from the unknown-id table")
        clock.advance(61)
        _ = await refusal { _ = try await v.verify(SigV4Tests().signed(at: clock.now())) }
        #expect(nobody.count.load(ordering: .relaxed) == 2, "remembered for a minute only")
    }

    @Test func unknownIdsNeverPushOutKnownKeysAndStayBounded() async throws {
        let clock = TestClock(Self.now)
        let cache = CredentialCache(unknownCapacity: 100, clock: clock)
        let lookup = known()
        let v = verifier(clock, lookup, cache: cache)
        _ = try await v.verify(SigV4Tests().signed(at: clock.now()))
        for i in 0..<1_000 { _ = try await v.credential(for: "AKIAFLOOD\(i)") }
        #expect(cache.unknownCount <= 100, "the unknown-id table keeps its size")
        _ = try await v.verify(SigV4Tests().signed(at: clock.now()))
        #expect(lookup.count.load(ordering: .relaxed) == 1 + 1_000, "the known key was still cached after the flood")
    }

    @Test func aKeyMadeValidAfterAMissWorksAtOnceWhereItWasMade() async throws {
        let clock = TestClock(Self.now)
        let table = Mutex<[String: Credential]>([:])
        let v = SigV4Verifier(cache: CredentialCache(clock: clock), clock: clock) { id in table.withLock { $0[id] } }
        #expect(await refusal { _ = try await v.verify(SigV4Tests().signed(at: clock.now())) }?.code == "UnrecognizedClientException")
        table.withLock { $0["AKIDEXAMPLE"] = Credential(secret: Self.secret, principal: Self.principal) }
        #expect(await refusal { _ = try await v.verify(SigV4Tests().signed(at: clock.now())) }?.code == "UnrecognizedClientException",
                "elsewhere it takes up to the unknown-id lifetime")
        v.forget("AKIDEXAMPLE")
        #expect(try await v.verify(SigV4Tests().signed(at: clock.now())).principal == Self.principal)
    }
}

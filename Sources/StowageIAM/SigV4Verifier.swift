import Foundation
import StowageModel
import StowageSigning

/// What a verified request carried besides its principal: the credential scope names the target service.
public struct VerifiedRequest: Sendable, Equatable {
    public var principal: Principal
    public var region: String
    public var service: String
}

/// Checks Signature Version 4 on incoming requests, header form and presigned-query form.
public struct SigV4Verifier: Sendable {
    /// Resolves an access key id to its secret and owner; nil when the key is unknown or inactive.
    public typealias Lookup = @Sendable (String) async throws -> Credential?

    let lookup: Lookup
    let cache: CredentialCache
    let clock: any WallClock
    /// AWS's clock-skew window: how far a header-signed request's date may be from now either way, and how far
    /// in the future a presigned request's date may be.
    public static let skew: TimeInterval = 15 * 60
    /// The longest X-Amz-Expires a presigned request may give, in seconds (AWS's seven days).
    public static let maxPresignedExpiry = 604_800

    public init(cache: CredentialCache, clock: any WallClock = SystemClock(), lookup: @escaping Lookup) {
        self.lookup = lookup; self.cache = cache; self.clock = clock
    }

    /// Drops what the cache holds for a key id, known or unknown: its key was created, changed or deleted here.
    public func forget(_ accessKeyId: String) { cache.invalidate(accessKeyId) }

    /// An access key's secret and owner, from the cache or the lookup; nil when the key is unknown or inactive.
    /// The console checks sign-ins and the key behind each session with it, under the same cache as signatures.
    /// An id found unknown is remembered for the cache's unknown-id lifetime, so repeating it costs no lookup.
    public func credential(for accessKeyId: String) async throws(APIError) -> Credential? {
        if let cached = cache.get(accessKeyId) { return cached }
        if cache.isUnknown(accessKeyId) { return nil }
        let found: Credential?
        do {
            found = try await lookup(accessKeyId)
        } catch let error as APIError {
            throw error
        } catch {
            throw .server("Credential lookup failed.")
        }
        if let found { cache.put(accessKeyId, found) } else { cache.putUnknown(accessKeyId) }
        return found
    }

    struct Parsed {
        var accessKeyId: String
        var date: String
        var region: String
        var service: String
        var signedHeaders: [String]
        var signature: String
        var amzDate: String
        var payloadHash: String
        var presigned: Bool
    }

    public func verify(_ request: SignableRequest) async throws(APIError) -> VerifiedRequest {
        let parsed = try parse(request)
        try checkTime(parsed)
        guard let credential = try await credential(for: parsed.accessKeyId) else { throw .unrecognizedClient() }
        let key = SigV4.signingKey(secret: credential.secret, date: parsed.date, region: parsed.region, service: parsed.service)
        let scope = "\(parsed.date)/\(parsed.region)/\(parsed.service)/aws4_request"
        // Clients differ on whether the wire path is encoded again (botocore does, some curl versions do not),
        // and presigners on the payload hash (S3-style UNSIGNED-PAYLOAD, or the empty body's hash as botocore does).
        let uris = [SigV4.uriEncode(request.path, keepSlash: true), request.path]
        let payloads = parsed.presigned ? [request.bodySHA256, "UNSIGNED-PAYLOAD"] : [parsed.payloadHash]
        // A query with reserved characters left raw is signed as sent by botocore and curl, not re-encoded.
        let excluded = parsed.presigned ? "X-Amz-Signature" : nil
        let canonicalQuery = SigV4.canonicalQuery(request.query, excluding: excluded)
        let sentQuery = SigV4.sentQuery(request.query, excluding: excluded)
        let queries = sentQuery == canonicalQuery ? [canonicalQuery] : [canonicalQuery, sentQuery]
        let candidates = uris.flatMap { uri in payloads.flatMap { payload in queries.map { (uri, payload, $0) } } }
        for (uri, payload, query) in candidates {
            let canonical = SigV4.canonicalRequest(
                request, canonicalURI: uri, signedHeaders: parsed.signedHeaders, payloadHash: payload, query: query)
            let expected = SigV4.signature(
                key: key, stringToSign: SigV4.stringToSign(amzDate: parsed.amzDate, scope: scope, canonicalRequest: canonical))
            if SigV4.constantTimeEqual(expected, parsed.signature) {
                try checkSession(credential, request)
                return VerifiedRequest(principal: credential.principal, region: parsed.region, service: parsed.service)
            }
        }
        throw .invalidSignature(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
    }

    /// Temporary credentials are good only with their own session token and only until they expire.
    func checkSession(_ credential: Credential, _ request: SignableRequest) throws(APIError) {
        let items = request.header("x-amz-security-token") == nil ? SigV4.queryItems(request.query) : []
        let token = request.header("x-amz-security-token") ?? items.first(where: { $0.0 == "X-Amz-Security-Token" })?.1
        guard let expected = credential.tokenSHA256 else {
            if token != nil { throw .unrecognizedClient("The security token included in the request is invalid.") }
            // A container instance's replaced credential ends too, though it carries no token.
            if let expires = credential.expiresAt, clock.now() >= expires { throw .unrecognizedClient() }
            return
        }
        guard let token, SigV4.constantTimeEqual(SigV4.sha256Hex(token), expected) else {
            throw .unrecognizedClient("The security token included in the request is invalid.")
        }
        if let expires = credential.expiresAt, clock.now() >= expires {
            throw APIError("ExpiredTokenException", "The security token included in the request is expired", awsStatus: 400)
        }
    }

    func parse(_ request: SignableRequest) throws(APIError) -> Parsed {
        if let authorization = request.header("authorization") {
            guard authorization.hasPrefix(SigV4.algorithm + " ") else {
                throw .incompleteSignature("Only \(SigV4.algorithm) signatures are supported.")
            }
            var fields: [String: String] = [:]
            for part in authorization.dropFirst(SigV4.algorithm.count + 1).split(separator: ",") {
                // Foundation's trimmingCharacters bridges through NSString: a measurable share of every request.
                var kv = part
                while let first = kv.first, first == " " || first == "\t" { kv = kv.dropFirst() }
                while let last = kv.last, last == " " || last == "\t" { kv = kv.dropLast() }
                if let eq = kv.firstIndex(of: "=") { fields[String(kv[..<eq])] = String(kv[kv.index(after: eq)...]) }
            }
            guard let credential = fields["Credential"], let signed = fields["SignedHeaders"],
                  let signature = fields["Signature"] else {
                throw .incompleteSignature(
                    "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.")
            }
            guard let amzDate = request.header("x-amz-date") else {
                throw .incompleteSignature("Authorization header requires existence of a 'X-Amz-Date' header.")
            }
            // The header form always signs its body: an unsigned payload would let whoever sees one signed request
            // send any other body under its signature (S3's streaming uploads are the only use AWS has for it).
            if let declared = request.header("x-amz-content-sha256") {
                guard declared != "UNSIGNED-PAYLOAD" else {
                    throw .invalidSignature(
                        "x-amz-content-sha256: UNSIGNED-PAYLOAD is refused: sign the SHA-256 of the request body (only presigned GETs carry no body hash).")
                }
                guard declared == request.bodySHA256 else {
                    throw APIError("XAmzContentSHA256Mismatch",
                                   "The provided 'x-amz-content-sha256' header does not match what was computed.")
                }
            }
            return try parsed(credential: credential, signedHeaders: signed, signature: signature, amzDate: amzDate,
                              payloadHash: request.bodySHA256, presigned: false)
        }
        let items = Dictionary(SigV4.queryItems(request.query), uniquingKeysWith: { a, _ in a })
        guard items["X-Amz-Algorithm"] != nil else { throw .missingAuthentication() }
        guard items["X-Amz-Algorithm"] == SigV4.algorithm else {
            throw .incompleteSignature("Only \(SigV4.algorithm) signatures are supported.")
        }
        guard request.method == "GET" else {
            throw .incompleteSignature("Presigned requests are accepted for GET only.")
        }
        guard let credential = items["X-Amz-Credential"], let signed = items["X-Amz-SignedHeaders"],
              let signature = items["X-Amz-Signature"], let amzDate = items["X-Amz-Date"],
              let expiresText = items["X-Amz-Expires"] else {
            throw .incompleteSignature(
                "Presigned requests need X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature.")
        }
        // AWS's own limit: a presigned URL lives at most seven days.
        guard let expires = Int(expiresText), (1...Self.maxPresignedExpiry).contains(expires) else {
            throw .incompleteSignature("X-Amz-Expires must be between 1 and \(Self.maxPresignedExpiry) seconds (7 days), got '\(expiresText)'.")
        }
        var result = try parsed(credential: credential, signedHeaders: signed, signature: signature, amzDate: amzDate,
                                payloadHash: "UNSIGNED-PAYLOAD", presigned: true)
        guard let signedAt = SigV4.parseAmzDate(amzDate) else { throw .incompleteSignature("X-Amz-Date is not a valid date.") }
        if clock.now() > signedAt.addingTimeInterval(TimeInterval(expires)) {
            throw .invalidSignature("Signature expired: the presigned request was valid until \(SigV4.amzDate(signedAt.addingTimeInterval(TimeInterval(expires)))).")
        }
        result.presigned = true
        return result
    }

    func parsed(credential: String, signedHeaders: String, signature: String, amzDate: String, payloadHash: String,
                presigned: Bool) throws(APIError) -> Parsed {
        let scope = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 5, scope[4] == "aws4_request", !scope[0].isEmpty else {
            throw .incompleteSignature("Credential must have the form <key>/<date>/<region>/<service>/aws4_request, got '\(credential)'.")
        }
        guard amzDate.hasPrefix(scope[1]) else {
            throw .invalidSignature("Credential should be scoped to a valid date: \(scope[1]) does not match \(amzDate.prefix(8)).")
        }
        let headers = signedHeaders.split(separator: ";").map { $0.lowercased() }
        guard headers.contains("host") else {
            throw .invalidSignature("'Host' must be a 'SignedHeader' in the AWS Authorization.")
        }
        return Parsed(accessKeyId: scope[0], date: scope[1], region: scope[2], service: scope[3], signedHeaders: headers,
                      signature: signature, amzDate: amzDate, payloadHash: payloadHash, presigned: presigned)
    }

    func checkTime(_ parsed: Parsed) throws(APIError) {
        guard let signedAt = SigV4.parseAmzDate(parsed.amzDate) else {
            throw .incompleteSignature("X-Amz-Date '\(parsed.amzDate)' is not of the form yyyyMMddTHHmmssZ.")
        }
        let now = clock.now()
        // A presigned request's expiry is checked against X-Amz-Expires as it is parsed; a date beyond the skew
        // window would stretch its life past the seven days, so it is refused as the header form's is.
        if !parsed.presigned, signedAt < now.addingTimeInterval(-Self.skew) {
            throw .invalidSignature(
                "Signature expired: \(parsed.amzDate) is now earlier than \(SigV4.amzDate(now.addingTimeInterval(-Self.skew))) (\(SigV4.amzDate(now)) - 15 min.)")
        }
        if signedAt > now.addingTimeInterval(Self.skew) {
            throw .invalidSignature(
                "Signature not yet current: \(parsed.amzDate) is still later than \(SigV4.amzDate(now.addingTimeInterval(Self.skew))) (\(SigV4.amzDate(now)) + 15 min.)")
        }
    }
}

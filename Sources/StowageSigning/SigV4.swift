import Crypto
import Foundation
import StowageModel

/// The parts of an HTTP request that AWS Signature Version 4 covers, independent of any HTTP library.
public struct SignableRequest: Sendable {
    public var method: String
    /// The path as sent on the wire (percent-encoded, no query).
    public var path: String
    /// The raw query string, without `?`.
    public var query: String
    /// Header values by lower-cased name (Host included).
    public var headers: [String: [String]]
    /// Hex SHA-256 of the body.
    public var bodySHA256: String

    public init(method: String, path: String, query: String, headers: [String: [String]], body: some DataProtocol) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.bodySHA256 = Hex.encode(SHA256.hash(data: Array(body)))
    }

    public func header(_ name: String) -> String? { headers[name]?.first }
}

/// The Signature Version 4 algorithm: one canonicalization for both the verifier and the signer.
public enum SigV4 {
    public static let algorithm = "AWS4-HMAC-SHA256"
    static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~".utf8)
    static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// AWS's URI encoding: every byte but the unreserved set as %XX (upper case).
    public static func uriEncode(_ text: some StringProtocol, keepSlash: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if unreserved.contains(byte) || (keepSlash && byte == UInt8(ascii: "/")) {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func percentDecode(_ text: Substring) -> String {
        text.removingPercentEncoding ?? String(text)
    }

    /// Query parameters decoded, in wire order.
    public static func queryItems(_ raw: String) -> [(String, String)] {
        raw.split(separator: "&", omittingEmptySubsequences: true).map { part in
            if let eq = part.firstIndex(of: "=") {
                return (percentDecode(part[..<eq]), percentDecode(part[part.index(after: eq)...]))
            }
            return (percentDecode(part), "")
        }
    }

    public static func canonicalQuery(_ raw: String, excluding: String? = nil) -> String {
        var pairs: [(String, String)] = []
        for (name, value) in queryItems(raw) where name != excluding {
            pairs.append((uriEncode(name, keepSlash: false), uriEncode(value, keepSlash: false)))
        }
        return sortedJoined(pairs)
    }

    /// The query as a client that signs it as sent would: pairs sorted, bytes not re-encoded. botocore and
    /// curl both sign a query that way when it holds reserved characters left raw (`?action=ecs:RunTask`).
    public static func sentQuery(_ raw: String, excluding: String? = nil) -> String {
        var pairs: [(String, String)] = []
        for part in raw.split(separator: "&", omittingEmptySubsequences: true) {
            let name: Substring
            let value: Substring
            if let eq = part.firstIndex(of: "=") {
                name = part[..<eq]
                value = part[part.index(after: eq)...]
            } else {
                name = part
                value = ""
            }
            if let excluding, percentDecode(name) == excluding { continue }
            pairs.append((String(name), String(value)))
        }
        return sortedJoined(pairs)
    }

    /// Pairs sorted by name then value, joined as `name=value&…`: the canonical query's shape.
    static func sortedJoined(_ pairs: [(String, String)]) -> String {
        pairs.sorted { (a: (String, String), b: (String, String)) -> Bool in a.0 == b.0 ? a.1 < b.1 : a.0 < b.0 }
            .map { (pair: (String, String)) -> String in pair.0 + "=" + pair.1 }.joined(separator: "&")
    }

    static func canonicalHeaderValue(_ values: [String]) -> String {
        values.map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ") }.joined(separator: ",")
    }

    public static func canonicalRequest(_ request: SignableRequest, canonicalURI: String, signedHeaders: [String],
                                        payloadHash: String, excludingQuery: String? = nil, query: String? = nil) -> String {
        var lines = [request.method, canonicalURI, query ?? canonicalQuery(request.query, excluding: excludingQuery)]
        lines.append(signedHeaders.map { "\($0):\(canonicalHeaderValue(request.headers[$0] ?? []))\n" }.joined())
        lines.append(signedHeaders.joined(separator: ";"))
        lines.append(payloadHash)
        return lines.joined(separator: "\n")
    }

    public static func stringToSign(amzDate: String, scope: String, canonicalRequest: String) -> String {
        "\(algorithm)\n\(amzDate)\n\(scope)\n\(Hex.encode(SHA256.hash(data: Array(canonicalRequest.utf8))))"
    }

    public static func signingKey(secret: String, date: String, region: String, service: String) -> SymmetricKey {
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key)))
        }
        let kDate = hmac(SymmetricKey(data: Array("AWS4\(secret)".utf8)), date)
        return hmac(hmac(hmac(kDate, region), service), "aws4_request")
    }

    public static func signature(key: SymmetricKey, stringToSign: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
    }

    public static func sha256Hex(_ text: String) -> String { Hex.encode(SHA256.hash(data: Array(text.utf8))) }
    public static func sha256Hex(_ bytes: Data) -> String { Hex.encode(SHA256.hash(data: bytes)) }

    /// `yyyyMMdd'T'HHmmss'Z'`, as X-Amz-Date carries it: RFC 3339 without its separators.
    public static func amzDate(_ date: Date) -> String {
        UTCTime.rfc3339(date).filter { $0 != "-" && $0 != ":" }
    }

    public static func parseAmzDate(_ text: String) -> Date? {
        let u = Array(text)
        guard u.count == 16, u[8] == "T", u[15] == "Z" else { return nil }
        let rfc3339 = "\(String(u[0..<4]))-\(String(u[4..<6]))-\(String(u[6..<8]))T\(String(u[9..<11])):\(String(u[11..<13])):\(String(u[13..<15]))Z"
        return UTCTime.parseRFC3339(rfc3339).map(UTCTime.date(nanos:))
    }

    /// Compares secrets (signatures, tokens) without leaking where they differ through timing.
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in x.indices { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

/// Signs outgoing requests (agents, tests and benchmarks calling the API) exactly as boto3 does.
public struct SigV4Signer: Sendable {
    public var accessKeyId: String
    public var secret: String
    public var region: String
    public var service: String

    public init(accessKeyId: String, secret: String, region: String = "us-east-1", service: String = "ecs") {
        self.accessKeyId = accessKeyId; self.secret = secret; self.region = region; self.service = service
    }

    /// The headers to add: X-Amz-Date, X-Amz-Content-Sha256 and Authorization. `request.headers` must hold `host`.
    public func sign(_ request: SignableRequest, at date: Date) -> [(String, String)] {
        let amzDate = SigV4.amzDate(date)
        var request = request
        request.headers["x-amz-date"] = [amzDate]
        request.headers["x-amz-content-sha256"] = [request.bodySHA256]
        let signed = request.headers.keys.sorted()
        let scope = "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
        let canonical = SigV4.canonicalRequest(
            request, canonicalURI: SigV4.uriEncode(request.path, keepSlash: true), signedHeaders: signed,
            payloadHash: request.bodySHA256)
        let key = SigV4.signingKey(secret: secret, date: String(amzDate.prefix(8)), region: region, service: service)
        let signature = SigV4.signature(key: key, stringToSign: SigV4.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical))
        return [
            ("X-Amz-Date", amzDate),
            ("X-Amz-Content-Sha256", request.bodySHA256),
            ("Authorization",
             "\(SigV4.algorithm) Credential=\(accessKeyId)/\(scope), SignedHeaders=\(signed.joined(separator: ";")), Signature=\(signature)"),
        ]
    }
}

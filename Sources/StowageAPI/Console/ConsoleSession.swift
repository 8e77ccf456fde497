import Foundation
import HTTPTypes
import Hummingbird
import Metrics
import StowageIAM
import StowageModel
import StowageSigning
import StowageStore
import StowageUseCases
import Synchronization

/// Console sign-in: an access key and its secret make a short-lived session held in an HttpOnly, SameSite=Strict
/// cookie (Secure on HTTPS). The session acts as that key: the same IAM policies authorize each call and the
/// audit trail records it; deactivating the key ends the session, and sign-out revokes it at once.
enum ConsoleSession {
    static let cookieName = "stowage_console"
    /// Writes carry the session's CSRF token in this header: a page on another site can make the browser send the
    /// cookie (SameSite aside) but cannot read the token.
    static let csrfHeader = HTTPField.Name("X-Stowage-CSRF")
    /// An hour, as an STS session's default; a session made from temporary credentials ends with them.
    static let lifetime: TimeInterval = 3600

    struct SignIn: Decodable {
        var accessKeyId: String
        var secretAccessKey: String
        var sessionToken: String?
    }

    /// What the page learns about its session: who it acts as, the CSRF token for writes, and when it ends.
    struct Info: Encodable {
        var principalArn: String
        var accountId: String
        var userName: String
        var accessKeyId: String
        var csrfToken: String
        var expiresAt: Date
    }

    static func info(_ row: ConsoleSessionRow, _ principal: Principal) -> Info {
        Info(principalArn: principal.arn, accountId: principal.accountId, userName: principal.userName,
             accessKeyId: principal.accessKeyId, csrfToken: row.csrfToken, expiresAt: row.expiresAt)
    }

    static let expired = APIError("UnrecognizedClientException",
                                  "Sign in to the console: there is no session, or it expired or was signed out.",
                                  awsStatus: 401, restStatus: 401)

    /// The session token from the request's Cookie header(s).
    static func token(_ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let item = pair.trimmingCharacters(in: .whitespaces)
                if item.hasPrefix(cookieName + "=") { return String(item.dropFirst(cookieName.count + 1)) }
            }
        }
        return nil
    }

    static func cookie(_ token: String, maxAge: Int, secure: Bool) -> String {
        "\(cookieName)=\(token); Path=/console; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// The account a cookie's token names: `<account id>.<random>`, so a session lookup stays in one tenant.
    static func account(of token: String) -> String? {
        let parts = token.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, parts[0].count == 12, parts[0].allSatisfy(\.isASCII), parts[0].allSatisfy(\.isNumber), !parts[1].isEmpty else {
            return nil
        }
        return String(parts[0])
    }

    /// 32 random bytes, base64url: the cookie's token and the CSRF token.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The live session a request's cookie names and the principal it acts as; throws `expired` otherwise.
    static func resolve(_ request: Request, backend: Backend) async throws -> (ConsoleSessionRow, Principal) {
        guard let token = token(request), token.count <= 128, let account = account(of: token) else { throw expired }
        let now = backend.clock.now()
        let row = try await ConsoleSessions(database: backend.database, logger: backend.database.logger)
            .live(account: account, tokenSHA256: SigV4.sha256Hex(token), now: now)
        // The key must still be active: deactivating or deleting it ends its console sessions too.
        guard let row, let credential = try await backend.verifier.credential(for: row.accessKeyId),
              credential.expiresAt.map({ $0 > now }) ?? true else { throw expired }
        return (row, credential.principal)
    }

    /// `POST /console/api/session`: checks the key and secret (and the session token of temporary credentials)
    /// and starts a session. Failed attempts for a known key are audited as a failed ConsoleLogin. Nothing of the
    /// account a key id names is spent before its secret is proven: a made-up key naming a victim's account must
    /// not drain the victim's write bucket. Failures spend the caller's address's bucket instead (`limiter`).
    static func signIn(_ request: Request, context: StowageContext, backend: Backend, limiter: SignInLimiter,
                       secure: Bool) async throws -> Response {
        let body = try await RequestBody.read(request, limit: 16 * 1024)
        // A member sign-in does not know is refused by name, never ignored.
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
           let unknown = object.keys.sorted().first(where: { !["accessKeyId", "secretAccessKey", "sessionToken"].contains($0) }) {
            throw APIError.invalidParameter("Sign-in does not take \(unknown): give accessKeyId, secretAccessKey and, for temporary credentials, sessionToken.")
        }
        let input: SignIn
        do { input = try JSONDecoder().decode(SignIn.self, from: body) } catch {
            throw APIError.serialization("Sign in with a JSON body: accessKeyId, secretAccessKey and, for temporary credentials, sessionToken.")
        }
        let refused = APIError("UnrecognizedClientException", "The access key id or secret access key is not valid.",
                               awsStatus: 401, restStatus: 401)
        let now = backend.clock.now()
        try limiter.admit(context.sourceIp, now: now)
        guard !input.accessKeyId.isEmpty, input.accessKeyId.count <= 128, let account = AccessKeyID.account(of: input.accessKeyId) else {
            limiter.failed(context.sourceIp, now: now)
            throw refused
        }
        guard let credential = try await backend.verifier.credential(for: input.accessKeyId) else {
            limiter.failed(context.sourceIp, now: now)
            throw refused
        }
        let caller = Caller(principal: credential.principal, requestId: context.requestId, logger: context.logger, backend: backend,
                            sourceIp: context.sourceIp, signedService: "signin", via: "console")
        context.exchange.caller = caller
        caller.trail.note(action: "signin:ConsoleLogin", resources: [credential.principal.arn])
        guard SigV4.constantTimeEqual(credential.secret, input.secretAccessKey) else {
            limiter.failed(context.sourceIp, now: now)
            throw refused
        }
        if let expected = credential.tokenSHA256 {
            guard let token = input.sessionToken, SigV4.constantTimeEqual(SigV4.sha256Hex(token), expected) else {
                limiter.failed(context.sourceIp, now: now)
                throw APIError("UnrecognizedClientException", "Temporary credentials sign in with their session token (sessionToken).",
                               awsStatus: 401, restStatus: 401)
            }
        } else if input.sessionToken != nil {
            throw APIError.invalidParameter("sessionToken is only for temporary (ASIA…) credentials.")
        }
        // Proven: the session is a write of this account, spent from its own bucket like any other.
        try await backend.quotas.admit(account: account, .write)
        let expires = min(now.addingTimeInterval(lifetime), credential.expiresAt ?? .distantFuture)
        guard expires > now else { throw APIError("ExpiredTokenException", "These temporary credentials have expired.", restStatus: 401) }
        let token = "\(account).\(randomToken())"
        let row = ConsoleSessionRow(tokenSHA256: SigV4.sha256Hex(token), accountId: account, accessKeyId: input.accessKeyId,
                                    principalArn: credential.principal.arn, csrfToken: randomToken(), sourceIp: context.sourceIp,
                                    createdAt: now, expiresAt: expires)
        try await ConsoleSessions(database: backend.database, logger: caller.logger).start(row)
        var headers = HTTPFields()
        headers[.setCookie] = cookie(token, maxAge: Int(expires.timeIntervalSince(now)), secure: secure)
        return try json(info(row, credential.principal), headers: headers)
    }

    /// `GET /console/api/session`: who the page is signed in as, and its CSRF token (the page keeps it in memory only).
    static func current(_ request: Request, context: StowageContext, backend: Backend) async throws -> Response {
        let (row, principal) = try await resolve(request, backend: backend)
        return try json(info(row, principal))
    }

    /// `DELETE /console/api/session`: revokes the session (CSRF-checked like every write) and clears the cookie.
    static func signOut(_ request: Request, context: StowageContext, backend: Backend, secure: Bool) async throws -> Response {
        let (row, principal) = try await resolve(request, backend: backend)
        try checkCSRF(request, row)
        let caller = Caller(principal: principal, requestId: context.requestId, logger: context.logger, backend: backend,
                            sourceIp: context.sourceIp, signedService: "signin", via: "console")
        context.exchange.caller = caller
        caller.trail.note(action: "signin:ConsoleLogout", resources: [principal.arn])
        try await ConsoleSessions(database: backend.database, logger: caller.logger)
            .revoke(account: row.accountId, tokenSHA256: row.tokenSHA256, now: backend.clock.now())
        var headers = HTTPFields()
        headers[.setCookie] = cookie("", maxAge: 0, secure: secure)
        return Response(status: .noContent, headers: headers)
    }

    /// Writes (every method but GET and HEAD) must carry the session's CSRF token.
    static func checkCSRF(_ request: Request, _ row: ConsoleSessionRow) throws {
        guard request.method != .get, request.method != .head else { return }
        guard let name = csrfHeader, let sent = request.headers[name], SigV4.constantTimeEqual(sent, row.csrfToken) else {
            throw APIError("AccessDeniedException",
                           "The console refused a write without its CSRF token (X-Stowage-CSRF): reload the page and try again.",
                           awsStatus: 403, restStatus: 403)
        }
    }

    static func json(_ value: some Encodable, headers extra: HTTPFields = [:]) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        for field in extra { headers.append(field) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try ECSJSON.encoder().encode(value))))
    }
}

/// Failed console sign-ins by source address: each failure (an unknown key, a wrong secret or session token)
/// spends a token of the address's bucket, and an address whose bucket is empty is refused before its key is
/// looked up. Bounded (10,000 addresses); refusals are counted (`stowage_console_signin_refused_total`).
final class SignInLimiter: Sendable {
    /// Ten failures at once, then one a second.
    static let burst = 10.0
    static let rate = 1.0
    private let buckets = Mutex(TokenBuckets<String>(capacity: 10_000))

    func admit(_ address: String, now: Date) throws(APIError) {
        guard buckets.withLock({ $0.tokens(address, rate: Self.rate, burst: Self.burst, now: now) }) >= 1 else {
            Counter(label: "stowage_console_signin_refused_total").increment()
            throw APIError("ThrottlingException", "Too many failed sign-ins from this address: at most \(Int(Self.burst)) at once, "
                           + "then \(Int(Self.rate)) a second. Try again in a moment.")
        }
    }

    func failed(_ address: String, now: Date) {
        _ = buckets.withLock { $0.take(address, rate: Self.rate, burst: Self.burst, now: now) }
    }
}

/// Authentication for the console's API routes: the session cookie instead of a signature, the CSRF token on
/// writes. Puts the same `Caller` on the context as `SigV4Authentication`, so handlers, IAM and audit are shared.
struct ConsoleAuthentication: RouterMiddleware {
    typealias Context = StowageContext
    let backend: Backend

    func handle(_ request: Request, context: StowageContext,
                next: (Request, StowageContext) async throws -> Response) async throws -> Response {
        let (row, principal) = try await ConsoleSession.resolve(request, backend: backend)
        try ConsoleSession.checkCSRF(request, row)
        let bytes = try await RequestBody.read(request, limit: backend.maxBodyBytes)
        var context = context
        context.logger[metadataKey: "account"] = .string(principal.accountId)
        context.logger[metadataKey: "console"] = "true"
        let caller = Caller(principal: principal, requestId: context.requestId, logger: context.logger, backend: backend,
                            sourceIp: context.sourceIp, via: "console")
        context.caller = caller
        context.signedBody = bytes
        context.exchange.caller = caller
        return try await next(request, context)
    }
}

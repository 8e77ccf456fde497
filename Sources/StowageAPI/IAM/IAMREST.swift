import Foundation
import StowageIAM
import StowageModel

/// `/v1/iam/{action}` and `/v1/sts/{action}` (the query-protocol actions with JSON bodies and answers) and
/// `/v1/audit/events`, the LookupEvents-style query of the audit trail.
enum IAMREST {
    static let routes: [RESTRoute] = [
        RESTRoute(method: .post, path: "/v1/iam/{action}", action: IAMAction(.iam, "IAM")) { call in try await run(call, service: .iam) },
        RESTRoute(method: .post, path: "/v1/sts/{action}", action: IAMAction(.sts, "STS")) { call in try await run(call, service: .sts) },
        RESTRoute(method: .get, path: "/v1/audit/events", action: IAMAction(.cloudtrail, "LookupEvents"), access: .read) { call in try await lookup(call) },
    ]

    static func run(_ call: RESTCall, service: AWSService) async throws -> Reply {
        var q = try QueryRequest(json: call.body)
        q.params["Action"] = call.path["action"] ?? ""
        let (fields, _) = try await QueryDoors.run(q, call.caller, service: service)
        return Reply(body: try QueryProtocol.json(fields))
    }

    static func time(_ call: RESTCall, _ name: String) throws(APIError) -> Date? {
        guard let text = call.query(name) else { return nil }
        if let seconds = Double(text) { return Date(timeIntervalSince1970: seconds) }
        guard let nanos = UTCTime.parseRFC3339(text) else {
            throw .invalidParameter("\(name) must be an RFC 3339 time (2026-11-21T10:00:00Z) or epoch seconds; got '\(text)'.")
        }
        return UTCTime.date(nanos: nanos)
    }

    static func lookup(_ call: RESTCall) async throws -> Reply {
        let c = call.caller
        try await c.authorize(["*"])
        let limit = try call.int("maxResults") ?? 50
        guard (1...1000).contains(limit) else { throw APIError.invalidParameter("maxResults must be between 1 and 1000.") }
        var after: (Date, String)?
        if let parts = try PageToken.decode(call.query("nextToken")) {
            guard parts.count == 2, let nanos = Int64(parts[0]) else { throw APIError.invalidParameter("The nextToken is not valid.") }
            after = (UTCTime.date(nanos: nanos), parts[1])
        }
        let query = AuditQuery(principalArn: call.query("principalArn"), action: call.query("action"), resource: call.query("resource"),
                               start: try time(call, "startTime"), end: try time(call, "endTime"), after: after, limit: limit + 1)
        var events = try await c.backend.audit.lookup(account: c.account, query)
        var next: String?
        if events.count > limit {
            events.removeLast()
            if let last = events.last {
                next = PageToken.encode([String(Int64(last.time.timeIntervalSince1970 * 1_000_000_000)), last.eventId])
            }
        }
        let items: [[String: Any]] = events.map { e in
            var item: [String: Any] = ["eventId": e.eventId, "eventTime": UTCTime.rfc3339(e.time), "principalArn": e.principalArn,
                                       "action": e.action, "resources": e.resources, "sourceIp": e.sourceIp,
                                       "requestId": e.requestId, "allowed": e.allowed]
            if let code = e.errorCode { item["errorCode"] = code }
            if let message = e.errorMessage { item["errorMessage"] = message }
            if let via = e.via { item["via"] = via }
            return item
        }
        var body: [String: Any] = ["events": items]
        if let next { body["nextToken"] = next }
        return Reply(body: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
    }
}

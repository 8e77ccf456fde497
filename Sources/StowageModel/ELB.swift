import Foundation

/// Elastic Load Balancing v2 (application load balancers) as Stowage runs them: the values the `elbv2` door
/// stores and `stowage lb` renders into HAProxy's configuration, and AWS's rules for them. Error codes are the
/// query protocol's (`DuplicateLoadBalancerName`, `InvalidConfigurationRequest`, …), as botocore maps them.
public enum ELB {
    public static let maxTargetGroupsPerForward = 5
    public static let maxConditionValues = 5
    public static let maxRulePriority = 50_000
    public static let defaultDeregistrationDelay = 300
    public static let maxTargetsPerRequest = 1_000

    /// Loopback addresses every Linux host can bind without configuration: enough for `make dev` and tests.
    public static let defaultAddresses = (1...254).map { "127.0.10.\($0)" }

    /// The pool of load balancer addresses from `STOWAGE_LB_ADDRESSES`: comma-separated IPv4 addresses and CIDR
    /// blocks (a block's network and broadcast addresses left out when it has them), at most 65,536 in all.
    public static func addressPool(_ text: String) throws(APIError) -> [String] {
        var out: [String] = []
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            let block = part.contains("/") ? part : part + "/32"
            guard let cidr = CIDR(block), cidr.bytes.count == 4 else { throw APIError.client("'\(part)' is not an IPv4 address or CIDR block") }
            let mask: UInt32 = cidr.prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - cidr.prefix)
            let base = cidr.bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) } & mask
            let size = UInt64(1) << UInt64(32 - cidr.prefix)
            guard UInt64(out.count) + size <= 65_536 else { throw APIError.client("the load balancer address pool is larger than 65536 addresses") }
            let hosts: [UInt64] = size >= 4 ? Array(1..<(size - 1)) : Array(0..<size)
            for offset in hosts {
                let a = base &+ UInt32(offset)
                out.append("\(a >> 24).\((a >> 16) & 255).\((a >> 8) & 255).\(a & 255)")
            }
        }
        guard !out.isEmpty else { throw APIError.client("the load balancer address pool is empty") }
        return out
    }

    public static func invalid(_ message: String) -> APIError { APIError("InvalidConfigurationRequest", message) }
    public static func validation(_ message: String) -> APIError { APIError("ValidationError", message) }
    public static func notFound(_ code: String, _ message: String) -> APIError { APIError(code, message, awsStatus: 400, restStatus: 404) }

    /// A forward target: a target group and its weight (0–999) among the action's groups.
    public struct WeightedGroup: Codable, Sendable, Equatable {
        public var targetGroupArn: String
        public var weight: Int
        public init(targetGroupArn: String, weight: Int) { self.targetGroupArn = targetGroupArn; self.weight = weight }
    }

    public struct FixedResponse: Codable, Sendable, Equatable {
        public var statusCode: String
        public var contentType: String?
        public var messageBody: String?
        public init(statusCode: String, contentType: String?, messageBody: String?) {
            self.statusCode = statusCode; self.contentType = contentType; self.messageBody = messageBody
        }
    }

    /// What a listener or rule does with a request: forward (to one group or weighted among several) or answer itself.
    public struct Action: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable { case forward, fixedResponse = "fixed-response" }
        public var kind: Kind
        public var order: Int?
        /// For forward: one group (`TargetGroupArn`) or several (`ForwardConfig`), always stored as the list.
        public var targetGroups: [WeightedGroup]
        /// Whether the request named a single TargetGroupArn (describe answers the same way).
        public var single: Bool
        public var stickinessSeconds: Int?
        public var fixedResponse: FixedResponse?

        public init(kind: Kind, order: Int? = nil, targetGroups: [WeightedGroup] = [], single: Bool = false, stickinessSeconds: Int? = nil,
                    fixedResponse: FixedResponse? = nil) {
            self.kind = kind; self.order = order; self.targetGroups = targetGroups; self.single = single
            self.stickinessSeconds = stickinessSeconds; self.fixedResponse = fixedResponse
        }
    }

    /// A rule condition; `values` are patterns (`*` and `?` wildcards) except for source-ip (CIDRs) and
    /// query-string (`pairs`).
    public struct Condition: Codable, Sendable, Equatable {
        public enum Field: String, Codable, Sendable, CaseIterable {
            case pathPattern = "path-pattern", hostHeader = "host-header", httpHeader = "http-header"
            case queryString = "query-string", httpRequestMethod = "http-request-method", sourceIp = "source-ip"
        }
        public struct Pair: Codable, Sendable, Equatable {
            public var key: String?
            public var value: String
            public init(key: String?, value: String) { self.key = key; self.value = value }
        }
        public var field: Field
        public var values: [String]
        public var headerName: String?
        public var pairs: [Pair]

        public init(field: Field, values: [String] = [], headerName: String? = nil, pairs: [Pair] = []) {
            self.field = field; self.values = values; self.headerName = headerName; self.pairs = pairs
        }
    }

    /// A target group's health check, with AWS's defaults for HTTP target groups of type instance or ip.
    public struct HealthCheck: Codable, Sendable, Equatable {
        public var enabled = true
        /// "traffic-port" or a port number.
        public var port = "traffic-port"
        public var path = "/"
        public var intervalSeconds = 30
        public var timeoutSeconds = 5
        public var healthyThreshold = 5
        public var unhealthyThreshold = 2
        /// HTTP codes: "200", "200,202", "200-299".
        public var matcher = "200"
        public init() {}

        /// The ports a target on `traffic` is sent requests and checks on.
        public func ports(traffic: Int) -> [Int] {
            guard enabled, port != "traffic-port", let check = Int(port) else { return [traffic] }
            return [traffic, check]
        }
    }

    public struct TargetGroupAttributes: Codable, Sendable, Equatable {
        public var deregistrationDelaySeconds = ELB.defaultDeregistrationDelay
        /// 0 (off) or 30–900.
        public var slowStartSeconds = 0
        public var algorithm = "round_robin"
        public init() {}

        /// The attributes as DescribeTargetGroupAttributes lists them.
        public var pairs: [(String, String)] {
            [("deregistration_delay.timeout_seconds", String(deregistrationDelaySeconds)),
             ("slow_start.duration_seconds", String(slowStartSeconds)),
             ("load_balancing.algorithm.type", algorithm),
             ("stickiness.enabled", "false"), ("stickiness.type", "lb_cookie")]
        }

        /// Applies ModifyTargetGroupAttributes' pairs: each key understood or refused by name.
        public mutating func apply(_ changes: [(String, String)]) throws(APIError) {
            for (key, value) in changes {
                switch key {
                case "deregistration_delay.timeout_seconds":
                    guard let seconds = Int(value), (0...3600).contains(seconds) else {
                        throw invalid("The value of 'deregistration_delay.timeout_seconds' must be an integer from 0 to 3600.")
                    }
                    deregistrationDelaySeconds = seconds
                case "slow_start.duration_seconds":
                    guard let seconds = Int(value), seconds == 0 || (30...900).contains(seconds) else {
                        throw invalid("The value of 'slow_start.duration_seconds' must be 0 or an integer from 30 to 900.")
                    }
                    slowStartSeconds = seconds
                case "load_balancing.algorithm.type":
                    guard ["round_robin", "least_outstanding_requests"].contains(value) else {
                        throw invalid("The value of 'load_balancing.algorithm.type' must be round_robin or least_outstanding_requests.")
                    }
                    algorithm = value
                case "stickiness.enabled":
                    guard value == "false" else {
                        throw invalid("Stowage does not support target group stickiness: 'stickiness.enabled' must be false.")
                    }
                default:
                    throw invalid("Target group attribute '\(key)' is not supported by Stowage (supported: deregistration_delay.timeout_seconds, slow_start.duration_seconds, load_balancing.algorithm.type).")
                }
            }
        }
    }

    /// A target's state, as DescribeTargetHealth reports it.
    public enum TargetState: String, Codable, Sendable {
        case initial, healthy, unhealthy, draining, unused, unavailable
    }

    // MARK: rules

    /// Load balancer names: 1–32 letters, digits and hyphens, not starting or ending with a hyphen nor starting
    /// with "internal-" (AWS's rule).
    public static func checkLoadBalancerName(_ name: String) throws(APIError) {
        try checkName(name, what: "Load balancer")
        guard !name.lowercased().hasPrefix("internal-") else { throw validation("Load balancer name '\(name)' cannot begin with 'internal-'.") }
    }

    public static func checkTargetGroupName(_ name: String) throws(APIError) { try checkName(name, what: "Target group") }

    static func checkName(_ name: String, what: String) throws(APIError) {
        guard (1...32).contains(name.count), !name.hasPrefix("-"), !name.hasSuffix("-"),
              name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-") }) else {
            throw validation("\(what) name '\(name)' must have at most 32 characters, only alphanumeric characters and hyphens, and must not begin or end with a hyphen.")
        }
    }

    public static func checkPort(_ port: Int?, what: String) throws(APIError) -> Int {
        guard let port else { throw validation("A port must be specified for \(what).") }
        guard (1...65_535).contains(port) else { throw validation("\(what) port \(port) must be from 1 to 65535.") }
        return port
    }

    /// Stowage's load balancers speak HTTP between client, proxy and targets.
    public static func checkProtocol(_ value: String?, what: String) throws(APIError) -> String {
        let value = value ?? "HTTP"
        guard value == "HTTP" else {
            throw APIError("UnsupportedProtocol", "\(what) protocol '\(value)' is not supported by Stowage: use HTTP (terminate TLS in front of the load balancer).")
        }
        return value
    }

    /// Checks a health check's numbers against each other and AWS's ranges.
    public static func check(_ h: HealthCheck) throws(APIError) {
        guard (5...300).contains(h.intervalSeconds) else { throw validation("Health check interval must be from 5 to 300 seconds.") }
        guard (2...120).contains(h.timeoutSeconds) else { throw validation("Health check timeout must be from 2 to 120 seconds.") }
        guard h.timeoutSeconds < h.intervalSeconds else {
            throw invalid("Health check timeout '\(h.timeoutSeconds)' must be smaller than the interval '\(h.intervalSeconds)'")
        }
        guard (2...10).contains(h.healthyThreshold), (2...10).contains(h.unhealthyThreshold) else {
            throw validation("Health check threshold counts must be from 2 to 10.")
        }
        guard h.path.hasPrefix("/"), (1...1024).contains(h.path.count), h.path.unicodeScalars.allSatisfy({ uriCharacters.contains($0) }) else {
            throw validation("Health check path '\(h.path)' must begin with '/' and have 1 to 1024 URI characters (letters, digits and -._~:/?#[]@!$&'()*+,;=%).")
        }
        if h.port != "traffic-port" {
            guard let port = Int(h.port), (1...65_535).contains(port) else {
                throw validation("Health check port must be 'traffic-port' or a port from 1 to 65535.")
            }
        }
        _ = try matcherCodes(h.matcher)
    }

    /// What a health-check path may hold: RFC 3986's unreserved and reserved characters and `%`.
    public static let uriCharacters = CharacterSet(charactersIn:
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%")

    /// The HTTP codes a matcher accepts ("200", "200,202", "200-299"; codes 200–499, as AWS allows for ALBs).
    public static func matcherCodes(_ text: String) throws(APIError) -> [ClosedRange<Int>] {
        var out: [ClosedRange<Int>] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard (1...2).contains(bounds.count), let low = bounds.first ?? nil, let high = bounds.last ?? nil, low <= high,
                  (200...499).contains(low), (200...499).contains(high) else {
                throw validation("Matcher HttpCode '\(text)' must be codes from 200 to 499, as '200', '200,202' or '200-299'.")
            }
            out.append(low...high)
        }
        return out
    }

    /// Checks an action list: one terminal action, forward groups 1–5 with weights 0–999, fixed responses in AWS's shape.
    public static func check(_ actions: [Action]) throws(APIError) {
        guard actions.count == 1 else {
            throw APIError("TooManyActions", "Stowage supports exactly one action (forward or fixed-response) per listener or rule; got \(actions.count).")
        }
        for action in actions {
            switch action.kind {
            case .forward:
                guard (1...maxTargetGroupsPerForward).contains(action.targetGroups.count) else {
                    throw invalid("A forward action needs 1 to \(maxTargetGroupsPerForward) target groups.")
                }
                guard Set(action.targetGroups.map(\.targetGroupArn)).count == action.targetGroups.count else {
                    throw invalid("A forward action names a target group twice.")
                }
                guard action.targetGroups.allSatisfy({ (0...999).contains($0.weight) }) else {
                    throw validation("Target group weights must be from 0 to 999.")
                }
                if let seconds = action.stickinessSeconds {
                    throw invalid("Target group stickiness (\(seconds) s) is not supported by Stowage.")
                }
            case .fixedResponse:
                guard let fixed = action.fixedResponse else { throw invalid("A fixed-response action needs a FixedResponseConfig.") }
                guard fixed.statusCode.count == 3, let first = fixed.statusCode.first, "245".contains(first), Int(fixed.statusCode) != nil else {
                    throw validation("Fixed response status code '\(fixed.statusCode)' must be 2XX, 4XX or 5XX.")
                }
                if let type = fixed.contentType, !["text/plain", "text/css", "text/html", "application/javascript", "application/json"].contains(type) {
                    throw validation("Fixed response content type '\(type)' must be text/plain, text/css, text/html, application/javascript or application/json.")
                }
                let body = fixed.messageBody ?? ""
                guard body.utf8.count <= 1024 else { throw validation("Fixed response message body must be at most 1024 bytes.") }
                // HTTP sends no body with these, and HAProxy refuses a configuration that gives one: the load
                // balancer would go failed after the call succeeded.
                if let code = Int(fixed.statusCode), code < 200 || code == 204 || code == 304, !body.isEmpty {
                    throw validation("Fixed response status code \(code) carries no message body: remove MessageBody or choose another status code.")
                }
                if let bad = body.unicodeScalars.first(where: { isControl($0) && !"\t\n\r".unicodeScalars.contains($0) }) {
                    throw validation("Fixed response message body must not contain control characters (it has U+\(hex(bad))); tabs and line breaks are allowed.")
                }
            }
        }
    }

    /// Checks a rule's conditions: 1 or more, at most one of each field but http-header and query-string, at most
    /// five values in all, patterns of AWS's characters.
    public static func check(_ conditions: [Condition]) throws(APIError) {
        guard !conditions.isEmpty else { throw validation("A rule needs at least one condition.") }
        var seen: Set<Condition.Field> = []
        var total = 0
        for c in conditions {
            if c.field != .httpHeader && c.field != .queryString {
                guard seen.insert(c.field).inserted else { throw invalid("A rule can have at most one '\(c.field.rawValue)' condition.") }
            }
            let count = c.field == .queryString ? c.pairs.count : c.values.count
            guard count > 0 else { throw validation("A '\(c.field.rawValue)' condition needs at least one value.") }
            total += count
            switch c.field {
            case .pathPattern:
                for v in c.values {
                    guard (1...128).contains(v.count), v.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
                        throw validation("Path pattern \(quoted(v)) must have 1 to 128 printable characters.")
                    }
                }
            case .hostHeader:
                for v in c.values {
                    guard (1...128).contains(v.count), v.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-.*?".unicodeScalars.contains($0)) }) else {
                        throw validation("Host pattern \(quoted(v)) must have 1 to 128 characters: letters, digits, '-', '.', '*' and '?'.")
                    }
                }
            case .httpHeader:
                guard let name = c.headerName, (1...40).contains(name.count),
                      name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_".unicodeScalars.contains($0)) }) else {
                    throw validation("An http-header condition needs an HttpHeaderName of 1 to 40 letters, digits, '-' and '_'.")
                }
                for v in c.values where !(1...128).contains(v.count) || v.unicodeScalars.contains(where: isControl) {
                    throw validation("Header pattern \(quoted(v)) must have 1 to 128 characters and no control characters.")
                }
            case .queryString:
                for p in c.pairs where p.value.isEmpty || p.value.count > 128 || (p.key?.count ?? 0) > 128 {
                    throw validation("Query string values must have 1 to 128 characters (keys at most 128).")
                }
                for text in c.pairs.flatMap({ [$0.key ?? "", $0.value] }) where text.unicodeScalars.contains(where: isControl) {
                    throw validation("Query string key or value \(quoted(text)) must not contain control characters.")
                }
            case .httpRequestMethod:
                for v in c.values {
                    guard (1...40).contains(v.count), v.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || $0 == "-" || $0 == "_" }) else {
                        throw validation("HTTP method \(quoted(v)) must be upper-case letters, '-' and '_'.")
                    }
                }
            case .sourceIp:
                for v in c.values where CIDR(v) == nil {
                    throw validation("Source IP \(quoted(v)) must be a CIDR block such as 10.0.0.0/8.")
                }
            }
        }
        guard total <= maxConditionValues else {
            throw invalid("A rule can have at most \(maxConditionValues) condition values in all; this one has \(total).")
        }
    }

    /// Control characters (C0, DEL, C1): an XML answer cannot carry most of them (botocore's parser fails on the whole
    /// answer), and no header or query string a client sends needs them in a pattern.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool { scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) }

    static func hex(_ scalar: Unicode.Scalar) -> String {
        let digits = String(scalar.value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// A refused value as an error message shows it: its control characters as `\u{…}`, so the message stays readable
    /// (and the XML error answer well formed).
    static func quoted(_ text: String) -> String {
        "'" + text.unicodeScalars.map { isControl($0) ? "\\u{\(hex($0))}" : String($0) }.joined() + "'"
    }

    /// Whether a wildcard pattern (`*` any run, `?` one character) matches a text; case-insensitive for hosts.
    public static func wildcard(_ pattern: String, matches text: String, caseInsensitive: Bool = false) -> Bool {
        Wildcard.matches(pattern, text, caseInsensitive: caseInsensitive)
    }
}

extension ARNScope {
    public func elb(_ account: String, _ resource: String) -> String {
        "arn:\(partition):elasticloadbalancing:\(region):\(account):\(resource)"
    }
    public func loadBalancer(_ account: String, name: String, id: String) -> String { elb(account, "loadbalancer/app/\(name)/\(id)") }
    public func targetGroup(_ account: String, name: String, id: String) -> String { elb(account, "targetgroup/\(name)/\(id)") }
    public func listener(_ account: String, loadBalancer: String, loadBalancerId: String, id: String) -> String {
        elb(account, "listener/app/\(loadBalancer)/\(loadBalancerId)/\(id)")
    }
    public func listenerRule(_ account: String, loadBalancer: String, loadBalancerId: String, listenerId: String, id: String) -> String {
        elb(account, "listener-rule/app/\(loadBalancer)/\(loadBalancerId)/\(listenerId)/\(id)")
    }
}

extension ELB {
    /// The kind of ELB resource an ARN names and the ids in it (load balancer, listener, rule, or target group id).
    public enum Resource: Equatable, Sendable {
        case loadBalancer(name: String, id: String)
        case targetGroup(name: String, id: String)
        case listener(loadBalancerId: String, id: String)
        case rule(loadBalancerId: String, listenerId: String, id: String)
    }

    /// Parses an ELB ARN of this account; nil for anything else.
    public static func resource(_ text: String, account: String) -> Resource? {
        guard let arn = ARN(text), arn.service == "elasticloadbalancing", arn.account == account else { return nil }
        let p = arn.resource.split(separator: "/").map(String.init)
        switch (p.first, p.count) {
        case ("loadbalancer", 4) where p[1] == "app": return .loadBalancer(name: p[2], id: p[3])
        case ("targetgroup", 3): return .targetGroup(name: p[1], id: p[2])
        case ("listener", 5) where p[1] == "app": return .listener(loadBalancerId: p[3], id: p[4])
        case ("listener-rule", 6) where p[1] == "app": return .rule(loadBalancerId: p[3], listenerId: p[4], id: p[5])
        default: return nil
        }
    }

    /// 16 hex digits, as AWS's load balancer and target group ids.
    public static func newId() -> String { String(Identifier.hex32().prefix(16)) }
}

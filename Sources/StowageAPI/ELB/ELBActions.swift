import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// The Elastic Load Balancing v2 door (query protocol, as botocore's `elbv2`): application load balancers,
/// listeners, rules, target groups and targets. Every write is one transaction that NOTIFYs `stowage lb`.
enum ELBActions {
    typealias Fields = [(String, QueryValue)]

    static let all: [String: QueryAction] = {
        let actions: [QueryAction] = [
            QueryAction("CreateLoadBalancer", createLoadBalancer), QueryAction("DescribeLoadBalancers", describeLoadBalancers),
            QueryAction("DeleteLoadBalancer", deleteLoadBalancer), QueryAction("DescribeLoadBalancerAttributes", describeLoadBalancerAttributes),
            QueryAction("CreateTargetGroup", createTargetGroup), QueryAction("DescribeTargetGroups", describeTargetGroups),
            QueryAction("ModifyTargetGroup", modifyTargetGroup), QueryAction("DeleteTargetGroup", deleteTargetGroup),
            QueryAction("ModifyTargetGroupAttributes", modifyTargetGroupAttributes),
            QueryAction("DescribeTargetGroupAttributes", describeTargetGroupAttributes),
            QueryAction("CreateListener", createListener), QueryAction("DescribeListeners", describeListeners),
            QueryAction("ModifyListener", modifyListener), QueryAction("DeleteListener", deleteListener),
            QueryAction("CreateRule", createRule), QueryAction("DescribeRules", describeRules), QueryAction("ModifyRule", modifyRule),
            QueryAction("DeleteRule", deleteRule), QueryAction("SetRulePriorities", setRulePriorities),
            QueryAction("RegisterTargets", registerTargets), QueryAction("DeregisterTargets", deregisterTargets),
            QueryAction("DescribeTargetHealth", describeTargetHealth),
            QueryAction("AddTags", addTags), QueryAction("RemoveTags", removeTags), QueryAction("DescribeTags", describeTags),
        ]
        return Dictionary(uniqueKeysWithValues: actions.map { ($0.name, $0) })
    }()

    static func reader(_ q: QueryRequest) -> QueryReader { QueryReader(q, code: "ValidationError") }

    /// A write: one transaction, and a NOTIFY so every `stowage lb` re-reads when it commits.
    static func write<T: Sendable>(_ c: Caller, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await c.backend.database.transaction { conn in
            let value = try await body(conn)
            try await c.backend.loadBalancing.notify(conn)
            return value
        }
    }

    static func read<T: Sendable>(_ c: Caller, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await c.backend.database.withConnection { try await body($0) }
    }

    // MARK: lookups

    static func lbNotFound(_ arn: String) -> APIError { ELB.notFound("LoadBalancerNotFound", "Load balancer '\(arn)' not found") }
    static func tgNotFound(_ arn: String) -> APIError { ELB.notFound("TargetGroupNotFound", "Target groups '\(arn)' not found") }
    static func listenerNotFound(_ arn: String) -> APIError { ELB.notFound("ListenerNotFound", "Listener '\(arn)' not found") }
    static func ruleNotFound(_ arn: String) -> APIError { ELB.notFound("RuleNotFound", "Rule '\(arn)' not found") }

    static func loadBalancer(_ conn: PostgresConnection, _ c: Caller, _ arn: String) async throws -> LoadBalancerRow {
        guard case .loadBalancer(let name, let id)? = ELB.resource(arn, account: c.account),
              let row = try await c.backend.loadBalancing.loadBalancers(conn, account: c.account, ids: [id]).first, row.name == name
        else { throw lbNotFound(arn) }
        return row
    }

    static func targetGroup(_ conn: PostgresConnection, _ c: Caller, _ arn: String) async throws -> TargetGroupRow {
        guard case .targetGroup(let name, let id)? = ELB.resource(arn, account: c.account),
              let row = try await c.backend.loadBalancing.targetGroups(conn, account: c.account, ids: [id]).first, row.name == name
        else { throw tgNotFound(arn) }
        return row
    }

    static func listener(_ conn: PostgresConnection, _ c: Caller, _ arn: String) async throws -> ListenerRow {
        guard case .listener(let lb, let id)? = ELB.resource(arn, account: c.account),
              let row = try await c.backend.loadBalancing.listeners(conn, account: c.account, ids: [id]).first, row.loadBalancerId == lb,
              // The whole ARN, load balancer name included: a Deny written for the listener's ARN must match what is acted on.
              self.arn(c, row) == arn
        else { throw listenerNotFound(arn) }
        return row
    }

    static func rule(_ conn: PostgresConnection, _ c: Caller, _ arn: String) async throws -> (RuleRow?, ListenerRow) {
        guard case .rule(let lb, let listenerId, let id)? = ELB.resource(arn, account: c.account),
              let listener = try await c.backend.loadBalancing.listeners(conn, account: c.account, ids: [listenerId]).first,
              listener.loadBalancerId == lb
        else { throw ruleNotFound(arn) }
        // The default rule of a listener has the listener's own id.
        if id == "default" {
            guard self.arn(c, nil, listener) == arn else { throw ruleNotFound(arn) }
            return (nil, listener)
        }
        guard let rule = try await c.backend.loadBalancing.rules(conn, account: c.account, ids: [id]).first, rule.listenerId == listenerId,
              self.arn(c, rule, listener) == arn else {
            throw ruleNotFound(arn)
        }
        return (rule, listener)
    }

    /// Checks that every group an action forwards to exists in this account and has the right protocol.
    static func checkGroups(_ conn: PostgresConnection, _ c: Caller, _ actions: [ELB.Action]) async throws {
        for arn in Set(actions.flatMap { $0.targetGroups.map(\.targetGroupArn) }) {
            _ = try await targetGroup(conn, c, arn)
        }
    }

    // MARK: arns and fields

    static func arn(_ c: Caller, _ lb: LoadBalancerRow) -> String { c.backend.scope.loadBalancer(c.account, name: lb.name, id: lb.id) }
    static func arn(_ c: Caller, _ tg: TargetGroupRow) -> String { c.backend.scope.targetGroup(c.account, name: tg.name, id: tg.id) }
    static func arn(_ c: Caller, _ l: ListenerRow) -> String {
        c.backend.scope.listener(c.account, loadBalancer: l.loadBalancerName, loadBalancerId: l.loadBalancerId, id: l.id)
    }
    static func arn(_ c: Caller, _ r: RuleRow?, _ l: ListenerRow) -> String {
        c.backend.scope.listenerRule(c.account, loadBalancer: l.loadBalancerName, loadBalancerId: l.loadBalancerId, listenerId: l.id,
                                     id: r?.id ?? "default")
    }

    static func lbFields(_ c: Caller, _ lb: LoadBalancerRow) -> QueryValue {
        .object([
            ("LoadBalancerArn", .text(arn(c, lb))),
            // The address it listens on: clients connect to it as they would resolve an ALB's DNS name.
            ("DNSName", .text(lb.address)), ("CanonicalHostedZoneId", .text("ZSTOWAGE000001")),
            ("CreatedTime", .date(lb.createdAt)), ("LoadBalancerName", .text(lb.name)), ("Scheme", .text(lb.scheme)),
            ("State", .object([("Code", .text(lb.state))] + (lb.stateReason.map { [("Reason", QueryValue.text($0))] } ?? []))),
            ("Type", .text("application")),
            ("AvailabilityZones", .list([.object([("ZoneName", .text("local")),
                                                  ("LoadBalancerAddresses", .list([.object([("IpAddress", .text(lb.address))])]))])])),
            ("SecurityGroups", .list([])), ("IpAddressType", .text(lb.ipAddressType)),
        ])
    }

    static func tgFields(_ c: Caller, _ tg: TargetGroupRow, loadBalancers: [String: LoadBalancerRow]) -> QueryValue {
        let h = tg.health
        return .object([
            ("TargetGroupArn", .text(arn(c, tg))), ("TargetGroupName", .text(tg.name)), ("Protocol", .text(tg.protocolName)),
            ("Port", .int(tg.port)), ("HealthCheckProtocol", .text("HTTP")), ("HealthCheckPort", .text(h.port)),
            ("HealthCheckEnabled", .bool(h.enabled)), ("HealthCheckIntervalSeconds", .int(h.intervalSeconds)),
            ("HealthCheckTimeoutSeconds", .int(h.timeoutSeconds)), ("HealthyThresholdCount", .int(h.healthyThreshold)),
            ("UnhealthyThresholdCount", .int(h.unhealthyThreshold)), ("HealthCheckPath", .text(h.path)),
            ("Matcher", .object([("HttpCode", .text(h.matcher))])),
            ("LoadBalancerArns", .list(tg.loadBalancerIds.compactMap { loadBalancers[$0] }.map { .text(arn(c, $0)) })),
            ("TargetType", .text(tg.targetType)), ("ProtocolVersion", .text("HTTP1")), ("IpAddressType", .text("ipv4")),
        ])
    }

    static func actionFields(_ actions: [ELB.Action]) -> QueryValue {
        .list(actions.enumerated().map { index, a in
            var fields: Fields = [("Type", .text(a.kind.rawValue)), ("Order", .int(a.order ?? index + 1))]
            switch a.kind {
            case .forward:
                if a.single, let only = a.targetGroups.first { fields.append(("TargetGroupArn", .text(only.targetGroupArn))) }
                fields.append(("ForwardConfig", .object([
                    ("TargetGroups", .list(a.targetGroups.map { .object([("TargetGroupArn", .text($0.targetGroupArn)), ("Weight", .int($0.weight))]) })),
                    ("TargetGroupStickinessConfig", .object([("Enabled", .bool(false))])),
                ])))
            case .fixedResponse:
                if let f = a.fixedResponse {
                    var config: Fields = [("StatusCode", .text(f.statusCode))]
                    if let type = f.contentType { config.append(("ContentType", .text(type))) }
                    if let body = f.messageBody { config.append(("MessageBody", .text(body))) }
                    fields.append(("FixedResponseConfig", .object(config)))
                }
            }
            return .object(fields)
        })
    }

    static func listenerFields(_ c: Caller, _ l: ListenerRow) -> QueryValue {
        .object([("ListenerArn", .text(arn(c, l))),
                 ("LoadBalancerArn", .text(c.backend.scope.loadBalancer(c.account, name: l.loadBalancerName, id: l.loadBalancerId))),
                 ("Port", .int(l.port)), ("Protocol", .text(l.protocolName)), ("DefaultActions", actionFields(l.defaultActions))])
    }

    static func conditionFields(_ conditions: [ELB.Condition]) -> QueryValue {
        .list(conditions.map { cond in
            var fields: Fields = [("Field", .text(cond.field.rawValue))]
            let values = QueryValue.object([("Values", .list(cond.values.map { .text($0) }))])
            switch cond.field {
            case .pathPattern: fields += [("Values", .list(cond.values.map { .text($0) })), ("PathPatternConfig", values)]
            case .hostHeader: fields += [("Values", .list(cond.values.map { .text($0) })), ("HostHeaderConfig", values)]
            case .httpHeader:
                fields.append(("HttpHeaderConfig", .object([("HttpHeaderName", .text(cond.headerName ?? "")),
                                                            ("Values", .list(cond.values.map { .text($0) }))])))
            case .queryString:
                fields.append(("QueryStringConfig", .object([("Values", .list(cond.pairs.map { pair in
                    .object((pair.key.map { [("Key", QueryValue.text($0))] } ?? []) + [("Value", .text(pair.value))])
                }))])))
            case .httpRequestMethod: fields.append(("HttpRequestMethodConfig", values))
            case .sourceIp: fields.append(("SourceIpConfig", values))
            }
            return .object(fields)
        })
    }

    static func ruleFields(_ c: Caller, _ r: RuleRow?, _ l: ListenerRow) -> QueryValue {
        .object([("RuleArn", .text(arn(c, r, l))), ("Priority", .text(r.map { String($0.priority) } ?? "default")),
                 ("Conditions", conditionFields(r?.conditions ?? [])), ("Actions", actionFields(r?.actions ?? l.defaultActions)),
                 ("IsDefault", .bool(r == nil))])
    }

    // MARK: parsing

    /// Actions from `Prefix.member.N.*`; any member not understood is left unread (and refused by `finish`).
    static func actions(_ r: QueryReader, _ prefix: String) throws(APIError) -> [ELB.Action] {
        var out: [ELB.Action] = []
        for n in 0..<r.count(prefix) {
            let p = "\(prefix).member.\(n + 1)"
            let type = try r.required("\(p).Type")
            let order = try r.int("\(p).Order")
            switch type {
            case "forward":
                var groups: [ELB.WeightedGroup] = []
                let single = r.string("\(p).TargetGroupArn")
                let configured = r.count("\(p).ForwardConfig.TargetGroups")
                for m in 0..<configured {
                    let g = "\(p).ForwardConfig.TargetGroups.member.\(m + 1)"
                    groups.append(ELB.WeightedGroup(targetGroupArn: try r.required("\(g).TargetGroupArn"), weight: try r.int("\(g).Weight") ?? 1))
                }
                if let single {
                    if !groups.isEmpty, groups.count != 1 || groups[0].targetGroupArn != single {
                        throw ELB.invalid("You cannot specify both a target group ARN and a ForwardConfig with other target groups.")
                    }
                    groups = [ELB.WeightedGroup(targetGroupArn: single, weight: groups.first?.weight ?? 1)]
                }
                var stickiness: Int?
                if try r.bool("\(p).ForwardConfig.TargetGroupStickinessConfig.Enabled") == true {
                    stickiness = try r.int("\(p).ForwardConfig.TargetGroupStickinessConfig.DurationSeconds") ?? 3600
                } else {
                    _ = try r.int("\(p).ForwardConfig.TargetGroupStickinessConfig.DurationSeconds")
                }
                out.append(ELB.Action(kind: .forward, order: order, targetGroups: groups, single: single != nil && configured == 0,
                                      stickinessSeconds: stickiness))
            case "fixed-response":
                let f = "\(p).FixedResponseConfig"
                out.append(ELB.Action(kind: .fixedResponse, order: order, fixedResponse: ELB.FixedResponse(
                    statusCode: try r.required("\(f).StatusCode"), contentType: r.string("\(f).ContentType"), messageBody: r.string("\(f).MessageBody"))))
            case "redirect", "authenticate-oidc", "authenticate-cognito", "jwt-validation":
                throw APIError("InvalidLoadBalancerAction", "Action type '\(type)' is not supported by Stowage: use forward or fixed-response.")
            default:
                throw ELB.validation("Action type '\(type)' must be one of forward, fixed-response.")
            }
        }
        guard !out.isEmpty else { throw ELB.validation("At least one action must be specified.") }
        try ELB.check(out)
        return out
    }

    static func conditions(_ r: QueryReader) throws(APIError) -> [ELB.Condition] {
        var out: [ELB.Condition] = []
        for n in 0..<r.count("Conditions") {
            let p = "Conditions.member.\(n + 1)"
            let name = try r.required("\(p).Field")
            guard let field = ELB.Condition.Field(rawValue: name) else {
                throw ELB.validation("Condition field '\(name)' must be one of \(ELB.Condition.Field.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            let legacy = r.list("\(p).Values")
            switch field {
            case .pathPattern, .hostHeader:
                let key = field == .pathPattern ? "PathPatternConfig" : "HostHeaderConfig"
                let values = r.list("\(p).\(key).Values")
                guard legacy.isEmpty || values.isEmpty else { throw ELB.invalid("Specify either Values or \(key), not both.") }
                out.append(ELB.Condition(field: field, values: values.isEmpty ? legacy : values))
            case .httpHeader:
                out.append(ELB.Condition(field: field, values: r.list("\(p).HttpHeaderConfig.Values"),
                                         headerName: r.string("\(p).HttpHeaderConfig.HttpHeaderName")))
            case .queryString:
                var pairs: [ELB.Condition.Pair] = []
                for m in 0..<r.count("\(p).QueryStringConfig.Values") {
                    let q = "\(p).QueryStringConfig.Values.member.\(m + 1)"
                    pairs.append(ELB.Condition.Pair(key: r.string("\(q).Key"), value: try r.required("\(q).Value")))
                }
                out.append(ELB.Condition(field: field, pairs: pairs))
            case .httpRequestMethod:
                out.append(ELB.Condition(field: field, values: r.list("\(p).HttpRequestMethodConfig.Values")))
            case .sourceIp:
                out.append(ELB.Condition(field: field, values: r.list("\(p).SourceIpConfig.Values")))
            }
            if field != .pathPattern && field != .hostHeader && !legacy.isEmpty {
                throw ELB.invalid("A '\(name)' condition takes its values in its own config, not in Values.")
            }
        }
        try ELB.check(out)
        return out
    }

    /// A health check from `CreateTargetGroup`/`ModifyTargetGroup` members over a base.
    static func healthCheck(_ r: QueryReader, base: ELB.HealthCheck) throws(APIError) -> ELB.HealthCheck {
        var h = base
        if let proto = r.string("HealthCheckProtocol") { _ = try ELB.checkProtocol(proto, what: "Health check") }
        if let port = r.string("HealthCheckPort") { h.port = port }
        if let enabled = try r.bool("HealthCheckEnabled") { h.enabled = enabled }
        if let path = r.string("HealthCheckPath") { h.path = path }
        if let v = try r.int("HealthCheckIntervalSeconds") { h.intervalSeconds = v }
        if let v = try r.int("HealthCheckTimeoutSeconds") { h.timeoutSeconds = v }
        if let v = try r.int("HealthyThresholdCount") { h.healthyThreshold = v }
        if let v = try r.int("UnhealthyThresholdCount") { h.unhealthyThreshold = v }
        if let code = r.string("Matcher.HttpCode") { h.matcher = code }
        if r.string("Matcher.GrpcCode") != nil { throw ELB.invalid("Matcher.GrpcCode applies to gRPC target groups, which Stowage does not run.") }
        try ELB.check(h)
        return h
    }

    /// A describe call's paging: `Marker` is the id of the previous page's last item, `NextMarker` is set while more follow.
    struct Paging {
        var size: Int
        var marker: String?

        init(_ r: QueryReader) throws(APIError) {
            size = try r.int("PageSize") ?? 400
            marker = r.string("Marker")
            guard (1...400).contains(size) else { throw ELB.validation("PageSize must be from 1 to 400.") }
        }

        func page<T>(_ items: [T], id: (T) -> String, field: String, render: (T) -> QueryValue) -> Fields {
            let rest = marker.map { m in Array(items.drop(while: { id($0) != m }).dropFirst()) } ?? items
            var fields: Fields = [(field, .list(rest.prefix(size).map(render)))]
            if rest.count > size, let last = rest.prefix(size).last { fields.append(("NextMarker", .text(id(last)))) }
            return fields
        }
    }

    static func checkTags(_ tags: [Tag]) throws(APIError) {
        guard tags.count <= 50 else { throw APIError("TooManyTags", "A resource can have at most 50 tags.") }
        guard Set(tags.map(\.key)).count == tags.count else { throw APIError("DuplicateTagKeys", "Tag keys must be unique.") }
        for t in tags {
            let key = t.key ?? ""
            guard (1...128).contains(key.count), (t.value ?? "").count <= 256, !key.lowercased().hasPrefix("aws:") else {
                throw ELB.validation("Tag key '\(key)' must have 1 to 128 characters, not begin with 'aws:', and values at most 256.")
            }
        }
    }

    // MARK: load balancers

    static func createLoadBalancer(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let name = try r.required("Name")
        try ELB.checkLoadBalancerName(name)
        let type = r.string("Type") ?? "application"
        guard type == "application" else {
            throw ELB.invalid("Load balancer type '\(type)' is not supported by Stowage: it runs application load balancers.")
        }
        let scheme = r.string("Scheme") ?? "internet-facing"
        guard scheme == "internet-facing" else {
            throw APIError("InvalidScheme", "Scheme '\(scheme)' is not supported by Stowage: a load balancer listens on an address of the installation's pool (STOWAGE_LB_ADDRESSES), whose reach the operator decides.")
        }
        let ipType = r.string("IpAddressType") ?? "ipv4"
        guard ipType == "ipv4" else { throw ELB.invalid("IpAddressType '\(ipType)' is not supported by Stowage: load balancers are ipv4.") }
        if !r.list("Subnets").isEmpty || r.count("SubnetMappings") > 0 {
            throw APIError("InvalidSubnet", "Stowage load balancers have no subnets: each gets an address from the installation's pool (STOWAGE_LB_ADDRESSES). Omit Subnets.")
        }
        if !r.list("SecurityGroups").isEmpty {
            throw APIError("InvalidSecurityGroup", "Stowage load balancers have no security groups. Omit SecurityGroups.")
        }
        let tags = r.tags()
        try checkTags(tags)
        try r.finish()
        let id = ELB.newId()
        try await c.authorize("elasticloadbalancing:CreateLoadBalancer", [c.backend.scope.loadBalancer(c.account, name: name, id: id)], requestTags: tags)
        let now = c.backend.clock.now()
        let row = try await write(c) { conn in
            guard let row = try await c.backend.loadBalancing.createLoadBalancer(
                conn, account: c.account, name: name, id: id, scheme: scheme, ipAddressType: ipType, pool: c.backend.loadBalancerAddresses,
                tags: tags, now: now)
            else { throw APIError("DuplicateLoadBalancerName", "A load balancer with the same name '\(name)' exists, but with different settings") }
            return row
        }
        return [("LoadBalancers", .list([lbFields(c, row)]))]
    }

    static func describeLoadBalancers(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let arns = r.list("LoadBalancerArns"), names = r.list("Names")
        let paging = try Paging(r)
        try r.finish()
        guard arns.isEmpty || names.isEmpty else { throw ELB.validation("Load balancer names and load balancer ARNs cannot be specified at the same time") }
        try await c.authorize("elasticloadbalancing:DescribeLoadBalancers", ["*"])
        let rows = try await read(c) { conn in
            try await c.backend.loadBalancing.loadBalancers(conn, account: c.account, names: names.isEmpty ? nil : names,
                                                            ids: arns.isEmpty ? nil : arns.compactMap {
                                                                if case .loadBalancer(_, let id)? = ELB.resource($0, account: c.account) { return id }
                                                                return "-"
                                                            })
        }
        if !arns.isEmpty, let missing = arns.first(where: { a in !rows.contains { arn(c, $0) == a } }) { throw lbNotFound(missing) }
        if !names.isEmpty, let missing = names.first(where: { n in !rows.contains { $0.name == n } }) {
            throw lbNotFound("One or more load balancers not found: '\(missing)'")
        }
        return paging.page(rows, id: \.id, field: "LoadBalancers") { lbFields(c, $0) }
    }

    static func describeLoadBalancerAttributes(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let lbArn = try r.required("LoadBalancerArn")
        try r.finish()
        try await c.authorize("elasticloadbalancing:DescribeLoadBalancerAttributes", [lbArn])
        _ = try await read(c) { conn in try await loadBalancer(conn, c, lbArn) }
        let pairs = [("deletion_protection.enabled", "false"), ("idle_timeout.timeout_seconds", "60"), ("routing.http2.enabled", "false")]
        return [("Attributes", .list(pairs.map { .object([("Key", .text($0.0)), ("Value", .text($0.1))]) }))]
    }

    static func deleteLoadBalancer(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let lbArn = try r.required("LoadBalancerArn")
        try r.finish()
        try await c.authorize("elasticloadbalancing:DeleteLoadBalancer", [lbArn])
        try await write(c) { conn in
            // Deleting one that is gone succeeds, as in AWS.
            guard let lb = try? await loadBalancer(conn, c, lbArn) else { return }
            try await c.backend.loadBalancing.deleteLoadBalancer(conn, account: c.account, id: lb.id)
        }
        return []
    }

    // MARK: target groups

    static func createTargetGroup(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let name = try r.required("Name")
        try ELB.checkTargetGroupName(name)
        let targetType = r.string("TargetType") ?? "instance"
        guard ["instance", "ip"].contains(targetType) else {
            throw ELB.invalid("Target type '\(targetType)' is not supported by Stowage: use instance or ip.")
        }
        let proto = try ELB.checkProtocol(r.string("Protocol"), what: "Target group")
        let port = try ELB.checkPort(try r.int("Port"), what: "the target group")
        if let version = r.string("ProtocolVersion"), version != "HTTP1" {
            throw ELB.invalid("Protocol version '\(version)' is not supported by Stowage: targets speak HTTP1.")
        }
        if let vpc = r.string("VpcId") { throw ELB.invalid("Stowage has no VPCs: omit VpcId ('\(vpc)').") }
        if let ipType = r.string("IpAddressType"), ipType != "ipv4" { throw ELB.invalid("IpAddressType '\(ipType)' is not supported: targets are ipv4.") }
        let health = try healthCheck(r, base: ELB.HealthCheck())
        let tags = r.tags()
        try checkTags(tags)
        try r.finish()
        let id = ELB.newId()
        try await c.authorize("elasticloadbalancing:CreateTargetGroup", [c.backend.scope.targetGroup(c.account, name: name, id: id)], requestTags: tags)
        let now = c.backend.clock.now()
        let row = try await write(c) { conn -> TargetGroupRow in
            if let existing = try await c.backend.loadBalancing.targetGroups(conn, account: c.account, names: [name]).first {
                // Creating the same group again answers with it, as AWS does; different settings are a conflict.
                guard existing.port == port, existing.targetType == targetType, existing.health == health else {
                    throw APIError("DuplicateTargetGroupName", "A target group with the same name '\(name)' exists, but with different settings")
                }
                return existing
            }
            guard let row = try await c.backend.loadBalancing.createTargetGroup(
                conn, account: c.account, name: name, id: id, protocolName: proto, port: port, targetType: targetType, health: health, tags: tags, now: now)
            else { throw APIError("DuplicateTargetGroupName", "A target group with the same name '\(name)' exists, but with different settings") }
            return row
        }
        return [("TargetGroups", .list([tgFields(c, row, loadBalancers: [:])]))]
    }

    static func loadBalancersById(_ conn: PostgresConnection, _ c: Caller) async throws -> [String: LoadBalancerRow] {
        Dictionary(uniqueKeysWithValues: try await c.backend.loadBalancing.loadBalancers(conn, account: c.account).map { ($0.id, $0) })
    }

    static func describeTargetGroups(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let lbArn = r.string("LoadBalancerArn")
        let arns = r.list("TargetGroupArns"), names = r.list("Names")
        let paging = try Paging(r)
        try r.finish()
        guard [lbArn != nil, !arns.isEmpty, !names.isEmpty].filter({ $0 }).count <= 1 else {
            throw ELB.validation("A load balancer ARN, target group ARNs and target group names cannot be specified together")
        }
        try await c.authorize("elasticloadbalancing:DescribeTargetGroups", ["*"])
        let (rows, lbs) = try await read(c) { conn -> ([TargetGroupRow], [String: LoadBalancerRow]) in
            let lbs = try await loadBalancersById(conn, c)
            var lbId: String?
            if let lbArn { lbId = try await loadBalancer(conn, c, lbArn).id }
            let ids = arns.isEmpty ? nil : arns.map { arn -> String in
                if case .targetGroup(_, let id)? = ELB.resource(arn, account: c.account) { return id }
                return "-"
            }
            let rows = try await c.backend.loadBalancing.targetGroups(conn, account: c.account, names: names.isEmpty ? nil : names, ids: ids,
                                                                      loadBalancerId: lbId)
            return (rows, lbs)
        }
        if let missing = arns.first(where: { a in !rows.contains { arn(c, $0) == a } }) { throw tgNotFound(missing) }
        if let missing = names.first(where: { n in !rows.contains { $0.name == n } }) {
            throw tgNotFound("One or more target groups not found: '\(missing)'")
        }
        return paging.page(rows, id: \.id, field: "TargetGroups") { tgFields(c, $0, loadBalancers: lbs) }
    }

    static func modifyTargetGroup(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let tgArn = try r.required("TargetGroupArn")
        try await c.authorize("elasticloadbalancing:ModifyTargetGroup", [tgArn])
        let current = try await read(c) { conn in try await targetGroup(conn, c, tgArn) }
        let health = try healthCheck(r, base: current.health)
        try r.finish()
        let (row, lbs) = try await write(c) { conn -> (TargetGroupRow, [String: LoadBalancerRow]) in
            var tg = try await targetGroup(conn, c, tgArn)
            tg.health = health
            // A new check port must not point the checks of the group's targets at the control plane.
            let policy = try await targetPolicy(conn, c)
            for t in try await c.backend.loadBalancing.targets(conn, targetGroupId: tg.id) {
                try checkTargetPolicy(policy, tg, address: t.address, id: t.targetId, port: t.port)
            }
            try await c.backend.loadBalancing.updateTargetGroup(conn, account: c.account, id: tg.id, health: tg.health, attributes: tg.attributes)
            return (tg, try await loadBalancersById(conn, c))
        }
        return [("TargetGroups", .list([tgFields(c, row, loadBalancers: lbs)]))]
    }

    static func attributeFields(_ a: ELB.TargetGroupAttributes) -> Fields {
        [("Attributes", .list(a.pairs.map { .object([("Key", .text($0.0)), ("Value", .text($0.1))]) }))]
    }

    static func modifyTargetGroupAttributes(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let tgArn = try r.required("TargetGroupArn")
        var changes: [(String, String)] = []
        for n in 0..<r.count("Attributes") {
            let p = "Attributes.member.\(n + 1)"
            changes.append((try r.required("\(p).Key"), r.string("\(p).Value") ?? ""))
        }
        guard !changes.isEmpty else { throw ELB.validation("At least one attribute must be specified.") }
        try r.finish()
        let requested = changes
        try await c.authorize("elasticloadbalancing:ModifyTargetGroupAttributes", [tgArn])
        let attributes = try await write(c) { conn -> ELB.TargetGroupAttributes in
            let tg = try await targetGroup(conn, c, tgArn)
            var attributes = tg.attributes
            try attributes.apply(requested)
            try await c.backend.loadBalancing.updateTargetGroup(conn, account: c.account, id: tg.id, health: tg.health, attributes: attributes)
            return attributes
        }
        return attributeFields(attributes)
    }

    static func describeTargetGroupAttributes(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let tgArn = try r.required("TargetGroupArn")
        try r.finish()
        try await c.authorize("elasticloadbalancing:DescribeTargetGroupAttributes", [tgArn])
        return attributeFields(try await read(c) { conn in try await targetGroup(conn, c, tgArn).attributes })
    }

    static func deleteTargetGroup(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let tgArn = try r.required("TargetGroupArn")
        try r.finish()
        try await c.authorize("elasticloadbalancing:DeleteTargetGroup", [tgArn])
        try await write(c) { conn in
            guard let tg = try? await targetGroup(conn, c, tgArn) else { return }
            guard try await !c.backend.loadBalancing.inUse(conn, targetGroupId: tg.id) else {
                throw APIError("ResourceInUse", "Target group '\(tgArn)' is currently in use by a listener or a rule")
            }
            try await c.backend.loadBalancing.deleteTargetGroup(conn, account: c.account, id: tg.id)
        }
        return []
    }

    // MARK: listeners

    static func createListener(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let lbArn = try r.required("LoadBalancerArn")
        let proto = try ELB.checkProtocol(r.string("Protocol"), what: "Listener")
        let port = try ELB.checkPort(try r.int("Port") ?? 80, what: "the listener")
        let actions = try actions(r, "DefaultActions")
        let tags = r.tags()
        try checkTags(tags)
        try r.finish()
        let id = ELB.newId()
        try await c.authorize("elasticloadbalancing:CreateListener", [lbArn], requestTags: tags)
        let row = try await write(c) { conn -> ListenerRow in
            let lb = try await loadBalancer(conn, c, lbArn)
            try await checkGroups(conn, c, actions)
            guard try await c.backend.loadBalancing.createListener(conn, account: c.account, id: id, loadBalancerId: lb.id, protocolName: proto,
                                                                   port: port, actions: actions, tags: tags)
            else { throw APIError("DuplicateListener", "A listener already exists on this port for this load balancer '\(lbArn)'") }
            return ListenerRow(id: id, loadBalancerId: lb.id, loadBalancerName: lb.name, protocolName: proto, port: port, defaultActions: actions,
                               tags: tags, account: c.account)
        }
        return [("Listeners", .list([listenerFields(c, row)]))]
    }

    static func describeListeners(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let lbArn = r.string("LoadBalancerArn")
        let arns = r.list("ListenerArns")
        let paging = try Paging(r)
        try r.finish()
        guard (lbArn == nil) != arns.isEmpty else {
            throw ELB.validation("You must specify either listener ARNs or a load balancer ARN, not both")
        }
        try await c.authorize("elasticloadbalancing:DescribeListeners", ["*"])
        let rows = try await read(c) { conn -> [ListenerRow] in
            if let lbArn { return try await c.backend.loadBalancing.listeners(conn, account: c.account, loadBalancerId: loadBalancer(conn, c, lbArn).id) }
            var out: [ListenerRow] = []
            for a in arns { out.append(try await listener(conn, c, a)) }
            return out
        }
        return paging.page(rows, id: \.id, field: "Listeners") { listenerFields(c, $0) }
    }

    static func modifyListener(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let listenerArn = try r.required("ListenerArn")
        let requestedProtocol = r.string("Protocol")
        let protoValue = try requestedProtocol.map { value throws(APIError) in try ELB.checkProtocol(value, what: "Listener") }
        let port = try r.int("Port")
        if let port { _ = try ELB.checkPort(port, what: "the listener") }
        let newActions = r.count("DefaultActions") > 0 ? try actions(r, "DefaultActions") : nil
        try r.finish()
        try await c.authorize("elasticloadbalancing:ModifyListener", [listenerArn])
        let row = try await write(c) { conn -> ListenerRow in
            var l = try await listener(conn, c, listenerArn)
            if let newActions { try await checkGroups(conn, c, newActions); l.defaultActions = newActions }
            if let port { l.port = port }
            if let protoValue { l.protocolName = protoValue }
            guard try await c.backend.loadBalancing.modifyListener(conn, account: c.account, id: l.id, port: l.port, protocolName: l.protocolName,
                                                                   actions: l.defaultActions)
            else { throw APIError("DuplicateListener", "A listener already exists on port \(l.port) for this load balancer") }
            return l
        }
        return [("Listeners", .list([listenerFields(c, row)]))]
    }

    static func deleteListener(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let listenerArn = try r.required("ListenerArn")
        try r.finish()
        try await c.authorize("elasticloadbalancing:DeleteListener", [listenerArn])
        try await write(c) { conn in
            let l = try await listener(conn, c, listenerArn)
            try await c.backend.loadBalancing.deleteListener(conn, account: c.account, id: l.id)
        }
        return []
    }

    // MARK: rules

    static func createRule(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let listenerArn = try r.required("ListenerArn")
        guard let priority = try r.int("Priority") else { throw ELB.validation("A priority must be specified.") }
        guard (1...ELB.maxRulePriority).contains(priority) else { throw ELB.validation("Priority must be from 1 to \(ELB.maxRulePriority).") }
        let conditions = try conditions(r)
        let actions = try actions(r, "Actions")
        let tags = r.tags()
        try checkTags(tags)
        if r.count("Transforms") > 0 { throw ELB.invalid("Rule transforms (host header and URL rewrites) are not supported by Stowage.") }
        try r.finish()
        let id = ELB.newId()
        try await c.authorize("elasticloadbalancing:CreateRule", [listenerArn], requestTags: tags)
        let (rule, l) = try await write(c) { conn -> (RuleRow, ListenerRow) in
            let l = try await listener(conn, c, listenerArn)
            try await checkGroups(conn, c, actions)
            guard try await c.backend.loadBalancing.createRule(conn, account: c.account, id: id, listenerId: l.id, priority: priority,
                                                               conditions: conditions, actions: actions, tags: tags)
            else { throw APIError("PriorityInUse", "Priority '\(priority)' is currently in use") }
            return (RuleRow(id: id, listenerId: l.id, priority: priority, conditions: conditions, actions: actions, tags: tags), l)
        }
        return [("Rules", .list([ruleFields(c, rule, l)]))]
    }

    static func describeRules(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let listenerArn = r.string("ListenerArn")
        let arns = r.list("RuleArns")
        let paging = try Paging(r)
        try r.finish()
        guard (listenerArn == nil) != arns.isEmpty else { throw ELB.validation("You must specify either listener ARN or rule ARNs, not both") }
        try await c.authorize("elasticloadbalancing:DescribeRules", ["*"])
        let rows = try await read(c) { conn -> [(RuleRow?, ListenerRow)] in
            if let listenerArn {
                let l = try await listener(conn, c, listenerArn)
                let rules = try await c.backend.loadBalancing.rules(conn, account: c.account, listenerId: l.id)
                return rules.map { ($0, l) } + [(nil, l)]
            }
            var out: [(RuleRow?, ListenerRow)] = []
            for a in arns { out.append(try await rule(conn, c, a)) }
            return out
        }
        return paging.page(rows, id: { $0.0?.id ?? "default-\($0.1.id)" }, field: "Rules") { ruleFields(c, $0.0, $0.1) }
    }

    static func modifyRule(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let ruleArn = try r.required("RuleArn")
        let newConditions = r.count("Conditions") > 0 ? try conditions(r) : nil
        let newActions = r.count("Actions") > 0 ? try actions(r, "Actions") : nil
        try r.finish()
        try await c.authorize("elasticloadbalancing:ModifyRule", [ruleArn])
        let (changedRule, changedListener) = try await write(c) { conn -> (RuleRow?, ListenerRow) in
            let (found, l) = try await rule(conn, c, ruleArn)
            if let newActions { try await checkGroups(conn, c, newActions) }
            guard var rule = found else {
                // The default rule is the listener's default actions; it has no conditions.
                guard newConditions == nil else { throw ELB.invalid("The default rule has no conditions.") }
                var changed = l
                if let newActions {
                    changed.defaultActions = newActions
                    _ = try await c.backend.loadBalancing.modifyListener(conn, account: c.account, id: l.id, port: l.port, protocolName: l.protocolName,
                                                                         actions: newActions)
                }
                return (nil, changed)
            }
            if let newConditions { rule.conditions = newConditions }
            if let newActions { rule.actions = newActions }
            try await c.backend.loadBalancing.modifyRule(conn, account: c.account, rule: rule)
            return (rule, l)
        }
        return [("Rules", .list([ruleFields(c, changedRule, changedListener)]))]
    }

    static func deleteRule(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let ruleArn = try r.required("RuleArn")
        try r.finish()
        try await c.authorize("elasticloadbalancing:DeleteRule", [ruleArn])
        try await write(c) { conn in
            let (rule, _) = try await rule(conn, c, ruleArn)
            guard let rule else { throw APIError("OperationNotPermitted", "Default rules cannot be deleted") }
            try await c.backend.loadBalancing.deleteRule(conn, account: c.account, id: rule.id)
        }
        return []
    }

    static func setRulePriorities(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        var pairs: [(String, Int)] = []
        for n in 0..<r.count("RulePriorities") {
            let p = "RulePriorities.member.\(n + 1)"
            guard let priority = try r.int("\(p).Priority"), (1...ELB.maxRulePriority).contains(priority) else {
                throw ELB.validation("Each rule priority must be from 1 to \(ELB.maxRulePriority).")
            }
            pairs.append((try r.required("\(p).RuleArn"), priority))
        }
        try r.finish()
        guard !pairs.isEmpty else { throw ELB.validation("At least one rule priority must be specified.") }
        guard Set(pairs.map(\.0)).count == pairs.count else { throw ELB.validation("A rule is named twice.") }
        let requested = pairs
        for (ruleArn, _) in pairs { try await c.authorize("elasticloadbalancing:SetRulePriorities", [ruleArn]) }
        let rows = try await write(c) { conn -> [(RuleRow?, ListenerRow)] in
            var byId: [String: Int] = [:]
            var listeners: [String: ListenerRow] = [:]
            for (ruleArn, priority) in requested {
                let (rule, l) = try await rule(conn, c, ruleArn)
                guard let rule else { throw APIError("OperationNotPermitted", "The priority of the default rule cannot be changed") }
                byId[rule.id] = priority
                listeners[rule.id] = l
            }
            guard try await c.backend.loadBalancing.setPriorities(conn, account: c.account, priorities: byId) else {
                throw APIError("PriorityInUse", "Two rules of a listener would share a priority")
            }
            let changed = try await c.backend.loadBalancing.rules(conn, account: c.account, ids: Array(byId.keys))
            return changed.compactMap { rule in listeners[rule.id].map { (rule, $0) } }
        }
        return [("Rules", .list(rows.map { ruleFields(c, $0.0, $0.1) }))]
    }

    // MARK: targets

    /// Targets from `Targets.member.N.{Id,Port,AvailabilityZone}`.
    static func targets(_ r: QueryReader) throws(APIError) -> [(id: String, port: Int?, zone: String?)] {
        var out: [(id: String, port: Int?, zone: String?)] = []
        for n in 0..<r.count("Targets") {
            let p = "Targets.member.\(n + 1)"
            let port = try r.int("\(p).Port")
            if let port { _ = try ELB.checkPort(port, what: "the target") }
            out.append((try r.required("\(p).Id"), port, r.string("\(p).AvailabilityZone")))
            if r.string("\(p).QuicServerId") != nil { throw ELB.invalid("QuicServerId applies to QUIC listeners, which Stowage does not run.") }
        }
        guard !out.isEmpty else { throw ELB.validation("At least one target must be specified.") }
        guard out.count <= ELB.maxTargetsPerRequest else { throw APIError("TooManyTargets", "At most \(ELB.maxTargetsPerRequest) targets per request.") }
        return out
    }

    static func registerTargets(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let tgArn = try r.required("TargetGroupArn")
        let wanted = try targets(r)
        try r.finish()
        try await c.authorize("elasticloadbalancing:RegisterTargets", [tgArn])
        let now = c.backend.clock.now()
        try await write(c) { conn in
            let tg = try await targetGroup(conn, c, tgArn)
            let policy = try await targetPolicy(conn, c)
            var rows: [TargetRow] = []
            for t in wanted {
                let address = try await targetAddress(conn, c, tg, id: t.id)
                try checkTargetPolicy(policy, tg, address: address, id: t.id, port: t.port ?? tg.port)
                rows.append(TargetRow(targetGroupId: tg.id, targetId: t.id, port: t.port ?? tg.port, availabilityZone: t.zone, address: address,
                                      state: .initial, reason: nil, description: nil, registeredAt: now, drainingUntil: nil, taskId: nil))
            }
            try await c.backend.loadBalancing.register(conn, account: c.account, rows)
        }
        return []
    }

    /// A target's requests and checks stay out of the control plane's network: an ip target outside the forbidden
    /// ranges (unless the operator allows them, --allow-target-cidr), and no target's traffic or check port on one
    /// of the control plane's own endpoints. `stowage lb` checks again before HAProxy hears of a target.
    static func checkTargetPolicy(_ policy: TargetPolicy, _ tg: TargetGroupRow, address: String, id: String, port: Int) throws(APIError) {
        if let why = policy.refusal(address: address, ports: tg.health.ports(traffic: port)) {
            throw APIError("InvalidTarget", "The target '\(id)' (port \(port)) cannot be registered: \(why).")
        }
    }

    /// This server's target policy with every server's announced endpoints.
    static func targetPolicy(_ conn: PostgresConnection, _ c: Caller) async throws -> TargetPolicy {
        let announced = try await ControlPlaneEndpointStore(logger: c.logger).all(conn)
        return c.backend.targetPolicy.adding(announced.compactMap(\.refused))
    }

    /// Where a target is reached: an ip target's own address, or the address an instance's agent reported.
    static func targetAddress(_ conn: PostgresConnection, _ c: Caller, _ tg: TargetGroupRow, id: String) async throws -> String {
        switch tg.targetType {
        case "ip":
            guard !id.contains("/"), let address = CIDR(id), address.bytes.count == 4 else {
                throw APIError("InvalidTarget", "The IP address '\(id)' is not a valid IPv4 address")
            }
            return CIDR.format(address.bytes)
        default:
            guard id.hasPrefix("i-"), let address = try await c.backend.instances.hostAddress(conn, account: c.account, ec2InstanceId: id) else {
                throw APIError("InvalidTarget", "The following targets are not valid instances of this account's clusters: '\(id)'")
            }
            return address
        }
    }

    static func deregisterTargets(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let tgArn = try r.required("TargetGroupArn")
        let wanted = try targets(r)
        try r.finish()
        try await c.authorize("elasticloadbalancing:DeregisterTargets", [tgArn])
        let now = c.backend.clock.now()
        try await write(c) { conn in
            let tg = try await targetGroup(conn, c, tgArn)
            let registered = try await c.backend.loadBalancing.targets(conn, targetGroupId: tg.id)
            var chosen: [(id: String, port: Int)] = []
            for t in wanted {
                let matches = registered.filter { $0.targetId == t.id && (t.port == nil || $0.port == t.port) }
                guard !matches.isEmpty else {
                    throw APIError("InvalidTarget", "The following targets are not registered in target group '\(tgArn)': '\(t.id)'")
                }
                chosen += matches.map { ($0.targetId, $0.port) }
            }
            try await c.backend.loadBalancing.deregister(conn, targetGroupId: tg.id, targets: chosen,
                                                         until: now.addingTimeInterval(TimeInterval(tg.attributes.deregistrationDelaySeconds)))
        }
        return []
    }

    static func describeTargetHealth(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let tgArn = try r.required("TargetGroupArn")
        let wanted = r.count("Targets") > 0 ? try targets(r) : []
        if !r.list("Include").isEmpty {
            throw ELB.validation("Include (anomaly detection) is not supported by Stowage; omit it.")
        }
        try r.finish()
        try await c.authorize("elasticloadbalancing:DescribeTargetHealth", [tgArn])
        let (tg, rows, inUse) = try await read(c) { conn -> (TargetGroupRow, [TargetRow], Bool) in
            let tg = try await targetGroup(conn, c, tgArn)
            return (tg, try await c.backend.loadBalancing.targets(conn, targetGroupId: tg.id), try await c.backend.loadBalancing.inUse(conn, targetGroupId: tg.id))
        }
        var out: [QueryValue] = []
        func describe(_ id: String, _ port: Int, state: String, reason: String?, description: String?) -> QueryValue {
            var health: Fields = [("State", .text(state))]
            if let reason { health.append(("Reason", .text(reason))) }
            if let description { health.append(("Description", .text(description))) }
            return .object([("Target", .object([("Id", .text(id)), ("Port", .int(port))])),
                            ("HealthCheckPort", .text(tg.health.port == "traffic-port" ? String(port) : tg.health.port)),
                            ("TargetHealth", .object(health))])
        }
        let selected = wanted.isEmpty ? rows : rows.filter { row in wanted.contains { $0.id == row.targetId && ($0.port == nil || $0.port == row.port) } }
        for t in selected {
            if !inUse && t.state != .draining {
                out.append(describe(t.targetId, t.port, state: "unused", reason: "Target.NotInUse",
                                    description: "Target group is not configured to receive traffic from the load balancer"))
            } else if !tg.health.enabled && t.state != .draining {
                out.append(describe(t.targetId, t.port, state: "unavailable", reason: "Target.HealthCheckDisabled", description: "Health checks are disabled"))
            } else {
                out.append(describe(t.targetId, t.port, state: t.state.rawValue, reason: t.reason, description: t.description))
            }
        }
        for t in wanted where !selected.contains(where: { $0.targetId == t.id && (t.port == nil || $0.port == t.port) }) {
            out.append(describe(t.id, t.port ?? tg.port, state: "unused", reason: "Target.NotRegistered", description: "Target is not registered to the target group"))
        }
        return [("TargetHealthDescriptions", .list(out))]
    }

    // MARK: tags

    /// The table and id an ELB ARN names, checking it exists.
    static func tagged(_ conn: PostgresConnection, _ c: Caller, _ arn: String) async throws -> (ELBTable, String, [Tag]) {
        switch ELB.resource(arn, account: c.account) {
        case .loadBalancer?: let lb = try await loadBalancer(conn, c, arn); return (.loadBalancers, lb.id, lb.tags)
        case .targetGroup?: let tg = try await targetGroup(conn, c, arn); return (.targetGroups, tg.id, tg.tags)
        case .listener?: let l = try await listener(conn, c, arn); return (.listeners, l.id, l.tags)
        case .rule?:
            guard let rule = try await rule(conn, c, arn).0 else { throw ruleNotFound(arn) }
            return (.rules, rule.id, rule.tags)
        case nil: throw lbNotFound(arn)
        }
    }

    static func addTags(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let arns = r.list("ResourceArns")
        let tags = r.tags()
        try r.finish()
        guard !arns.isEmpty, !tags.isEmpty else { throw ELB.validation("ResourceArns and Tags must not be empty.") }
        try checkTags(tags)
        try await c.authorize("elasticloadbalancing:AddTags", arns, requestTags: tags)
        try await write(c) { conn in
            for arn in arns {
                let (table, id, current) = try await tagged(conn, c, arn)
                var merged = current.filter { old in !tags.contains { $0.key == old.key } } + tags
                merged.sort { ($0.key ?? "") < ($1.key ?? "") }
                try checkTags(merged)
                try await c.backend.loadBalancing.setTags(conn, account: c.account, table: table, id: id, tags: merged)
            }
        }
        return []
    }

    static func removeTags(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let arns = r.list("ResourceArns")
        let keys = r.list("TagKeys")
        try r.finish()
        guard !arns.isEmpty, !keys.isEmpty else { throw ELB.validation("ResourceArns and TagKeys must not be empty.") }
        try await c.authorize("elasticloadbalancing:RemoveTags", arns)
        try await write(c) { conn in
            for arn in arns {
                let (table, id, current) = try await tagged(conn, c, arn)
                try await c.backend.loadBalancing.setTags(conn, account: c.account, table: table, id: id,
                                                          tags: current.filter { !keys.contains($0.key ?? "") })
            }
        }
        return []
    }

    static func describeTags(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let r = reader(q)
        let arns = r.list("ResourceArns")
        try r.finish()
        guard (1...20).contains(arns.count) else { throw ELB.validation("Between 1 and 20 resource ARNs must be specified.") }
        try await c.authorize("elasticloadbalancing:DescribeTags", arns)
        let found = try await read(c) { conn -> [(String, [Tag])] in
            var out: [(String, [Tag])] = []
            for arn in arns { out.append((arn, try await tagged(conn, c, arn).2)) }
            return out
        }
        return [("TagDescriptions", .list(found.map { arn, tags in
            .object([("ResourceArn", .text(arn)),
                     ("Tags", .list(tags.map { .object([("Key", .text($0.key ?? "")), ("Value", .text($0.value ?? ""))]) }))])
        }))]
    }
}

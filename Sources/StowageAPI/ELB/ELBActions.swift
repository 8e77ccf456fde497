import Foundation
import StowageModel
import StowageStore
import StowageUseCases

/// The Elastic Load Balancing v2 door (query protocol, as botocore's `elbv2`): application load balancers,
/// listeners, rules, target groups and targets, with typed inputs and outputs (ELBShapes). A handler checks and
/// authorizes what it was sent and calls one use case (StowageUseCases' LoadBalancing), which owns the transaction.
enum ELBActions {

    static func arn(_ c: Caller, _ lb: LoadBalancerRow) -> String { c.loadBalancing.arn(lb) }
    static func arn(_ c: Caller, _ tg: TargetGroupRow) -> String { c.loadBalancing.arn(tg) }
    static func arn(_ c: Caller, _ l: ListenerRow) -> String { c.loadBalancing.arn(l) }
    static func arn(_ c: Caller, _ r: RuleRow?, _ l: ListenerRow) -> String { c.loadBalancing.arn(r, l) }

    // MARK: answers

    static func shape(_ c: Caller, _ lb: LoadBalancerRow) -> ELBShapes.LoadBalancer {
        ELBShapes.LoadBalancer(
            loadBalancerArn: arn(c, lb), dnsName: lb.address, createdTime: lb.createdAt, loadBalancerName: lb.name, scheme: lb.scheme,
            state: .init(code: lb.state, reason: lb.stateReason),
            availabilityZones: [.init(loadBalancerAddresses: [.init(ipAddress: lb.address)])], ipAddressType: lb.ipAddressType)
    }

    static func shape(_ c: Caller, _ tg: TargetGroupRow, loadBalancers: [String: LoadBalancerRow]) -> ELBShapes.TargetGroup {
        let h = tg.health
        return ELBShapes.TargetGroup(
            targetGroupArn: arn(c, tg), targetGroupName: tg.name, protocol: tg.protocolName, port: tg.port, healthCheckPort: h.port,
            healthCheckEnabled: h.enabled, healthCheckIntervalSeconds: h.intervalSeconds, healthCheckTimeoutSeconds: h.timeoutSeconds,
            healthyThresholdCount: h.healthyThreshold, unhealthyThresholdCount: h.unhealthyThreshold, healthCheckPath: h.path,
            matcher: .init(httpCode: h.matcher), loadBalancerArns: tg.loadBalancerIds.compactMap { loadBalancers[$0] }.map { arn(c, $0) },
            targetType: tg.targetType)
    }

    static func shape(_ actions: [ELB.Action]) -> [ELBShapes.Action] {
        actions.enumerated().map { index, a in
            var out = ELBShapes.Action(type: a.kind.rawValue, order: a.order ?? index + 1)
            // Answers always show the forward configuration's weights and stickiness, as AWS does.
            switch a.kind {
            case .forward:
                if a.single, let only = a.targetGroups.first { out.targetGroupArn = only.targetGroupArn }
                out.forwardConfig = .init(targetGroups: a.targetGroups.map { .init(targetGroupArn: $0.targetGroupArn, weight: $0.weight) },
                                          targetGroupStickinessConfig: .init(enabled: false))
            case .fixedResponse:
                if let f = a.fixedResponse {
                    out.fixedResponseConfig = .init(statusCode: f.statusCode, contentType: f.contentType, messageBody: f.messageBody)
                }
            }
            return out
        }
    }

    static func shape(_ c: Caller, _ l: ListenerRow) -> ELBShapes.Listener {
        ELBShapes.Listener(listenerArn: arn(c, l), loadBalancerArn: c.backend.scope.loadBalancer(c.account, name: l.loadBalancerName, id: l.loadBalancerId),
                           port: l.port, protocol: l.protocolName, defaultActions: shape(l.defaultActions))
    }

    static func shape(_ conditions: [ELB.Condition]) -> [ELBShapes.Condition] {
        conditions.map { cond in
            var out = ELBShapes.Condition(field: cond.field.rawValue)
            let values = ELBShapes.Condition.ValuesConfig(values: cond.values)
            switch cond.field {
            case .pathPattern: out.values = cond.values; out.pathPatternConfig = values
            case .hostHeader: out.values = cond.values; out.hostHeaderConfig = values
            case .httpHeader: out.httpHeaderConfig = .init(httpHeaderName: cond.headerName ?? "", values: cond.values)
            case .queryString: out.queryStringConfig = .init(values: cond.pairs.map { .init(key: $0.key, value: $0.value) })
            case .httpRequestMethod: out.httpRequestMethodConfig = values
            case .sourceIp: out.sourceIpConfig = values
            }
            return out
        }
    }

    static func shape(_ c: Caller, _ r: RuleRow?, _ l: ListenerRow) -> ELBShapes.Rule {
        ELBShapes.Rule(ruleArn: arn(c, r, l), priority: r.map { String($0.priority) } ?? "default", conditions: shape(r?.conditions ?? []),
                       actions: shape(r?.actions ?? l.defaultActions), isDefault: r == nil)
    }

    static func attributes(_ a: ELB.TargetGroupAttributes) -> ELBShapes.Attributes {
        ELBShapes.Attributes(attributes: a.pairs.map { ELBShapes.Attribute(key: $0.0, value: $0.1) })
    }

    // MARK: requests

    static func actions(_ inputs: [ELBShapes.Action]) throws(APIError) -> [ELB.Action] {
        var out: [ELB.Action] = []
        for a in inputs {
            switch a.type {
            case "forward":
                let configured = a.forwardConfig?.targetGroups ?? []
                var groups = configured.map { ELB.WeightedGroup(targetGroupArn: $0.targetGroupArn, weight: $0.weight ?? 1) }
                if let single = a.targetGroupArn {
                    if !groups.isEmpty, groups.count != 1 || groups[0].targetGroupArn != single {
                        throw ELB.invalid("You cannot specify both a target group ARN and a ForwardConfig with other target groups.")
                    }
                    groups = [ELB.WeightedGroup(targetGroupArn: single, weight: groups.first?.weight ?? 1)]
                }
                let stickiness = a.forwardConfig?.targetGroupStickinessConfig
                out.append(ELB.Action(kind: .forward, order: a.order, targetGroups: groups, single: a.targetGroupArn != nil && configured.isEmpty,
                                      stickinessSeconds: stickiness?.enabled == true ? stickiness?.durationSeconds ?? 3600 : nil))
            case "fixed-response":
                guard let f = a.fixedResponseConfig else {
                    throw ELB.validation("A fixed-response action needs FixedResponseConfig.StatusCode.")
                }
                out.append(ELB.Action(kind: .fixedResponse, order: a.order, fixedResponse: ELB.FixedResponse(
                    statusCode: f.statusCode, contentType: f.contentType, messageBody: f.messageBody)))
            case "redirect", "authenticate-oidc", "authenticate-cognito", "jwt-validation":
                throw APIError("InvalidLoadBalancerAction", "Action type '\(a.type)' is not supported by Stowage: use forward or fixed-response.")
            default:
                throw ELB.validation("Action type '\(a.type)' must be one of forward, fixed-response.")
            }
            // Another type's configuration beside this one is not honoured: refused by its name.
            let stray = [("ForwardConfig", a.forwardConfig != nil && a.type != "forward"),
                         ("FixedResponseConfig", a.fixedResponseConfig != nil && a.type != "fixed-response"),
                         ("RedirectConfig", a.redirectConfig != nil), ("AuthenticateOidcConfig", a.authenticateOidcConfig != nil),
                         ("AuthenticateCognitoConfig", a.authenticateCognitoConfig != nil), ("JwtValidationConfig", a.jwtValidationConfig != nil)]
            if let (name, _) = stray.first(where: \.1) { throw ELB.invalid("A '\(a.type)' action does not take \(name).") }
        }
        guard !out.isEmpty else { throw ELB.validation("At least one action must be specified.") }
        try ELB.check(out)
        return out
    }

    static func conditions(_ inputs: [ELBShapes.Condition]) throws(APIError) -> [ELB.Condition] {
        var out: [ELB.Condition] = []
        for input in inputs {
            guard let field = ELB.Condition.Field(rawValue: input.field) else {
                throw ELB.validation("Condition field '\(input.field)' must be one of \(ELB.Condition.Field.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            let legacy = input.values ?? []
            let configs: [(String, Bool, ELB.Condition.Field)] = [
                ("PathPatternConfig", input.pathPatternConfig != nil, .pathPattern), ("HostHeaderConfig", input.hostHeaderConfig != nil, .hostHeader),
                ("HttpHeaderConfig", input.httpHeaderConfig != nil, .httpHeader), ("QueryStringConfig", input.queryStringConfig != nil, .queryString),
                ("HttpRequestMethodConfig", input.httpRequestMethodConfig != nil, .httpRequestMethod),
                ("SourceIpConfig", input.sourceIpConfig != nil, .sourceIp),
            ]
            if let (name, _, _) = configs.first(where: { $0.1 && $0.2 != field }) {
                throw ELB.invalid("A '\(input.field)' condition does not take \(name).")
            }
            switch field {
            case .pathPattern, .hostHeader:
                let key = field == .pathPattern ? "PathPatternConfig" : "HostHeaderConfig"
                let values = (field == .pathPattern ? input.pathPatternConfig : input.hostHeaderConfig)?.values ?? []
                guard legacy.isEmpty || values.isEmpty else { throw ELB.invalid("Specify either Values or \(key), not both.") }
                out.append(ELB.Condition(field: field, values: values.isEmpty ? legacy : values))
            case .httpHeader:
                out.append(ELB.Condition(field: field, values: input.httpHeaderConfig?.values ?? [], headerName: input.httpHeaderConfig?.httpHeaderName))
            case .queryString:
                out.append(ELB.Condition(field: field, pairs: (input.queryStringConfig?.values ?? []).map { ELB.Condition.Pair(key: $0.key, value: $0.value) }))
            case .httpRequestMethod:
                out.append(ELB.Condition(field: field, values: input.httpRequestMethodConfig?.values ?? []))
            case .sourceIp:
                out.append(ELB.Condition(field: field, values: input.sourceIpConfig?.values ?? []))
            }
            if field != .pathPattern && field != .hostHeader && !legacy.isEmpty {
                throw ELB.invalid("A '\(input.field)' condition takes its values in its own config, not in Values.")
            }
        }
        try ELB.check(out)
        return out
    }

    /// A health check from `CreateTargetGroup`/`ModifyTargetGroup` members over a base.
    static func healthCheck(_ r: ELBShapes.HealthCheckInput, base: ELB.HealthCheck) throws(APIError) -> ELB.HealthCheck {
        var h = base
        if let proto = r.healthCheckProtocol { _ = try ELB.checkProtocol(proto, what: "Health check") }
        if let port = r.healthCheckPort { h.port = port }
        if let enabled = r.healthCheckEnabled { h.enabled = enabled }
        if let path = r.healthCheckPath { h.path = path }
        if let v = r.healthCheckIntervalSeconds { h.intervalSeconds = v }
        if let v = r.healthCheckTimeoutSeconds { h.timeoutSeconds = v }
        if let v = r.healthyThresholdCount { h.healthyThreshold = v }
        if let v = r.unhealthyThresholdCount { h.unhealthyThreshold = v }
        if let code = r.matcher?.httpCode { h.matcher = code }
        if r.matcher?.grpcCode != nil { throw ELB.invalid("Matcher.GrpcCode applies to gRPC target groups, which Stowage does not run.") }
        try ELB.check(h)
        return h
    }

    /// A describe call's paging: `Marker` is the id of the previous page's last item, `NextMarker` is set while more follow.
    struct Paging {
        var size: Int
        var marker: String?

        init(marker: String?, pageSize: Int?) throws(APIError) {
            size = pageSize ?? 400
            self.marker = marker
            guard (1...400).contains(size) else { throw ELB.validation("PageSize must be from 1 to 400.") }
        }

        func page<T>(_ items: [T], id: (T) -> String) -> (items: [T], next: String?) {
            let rest = marker.map { m in Array(items.drop(while: { id($0) != m }).dropFirst()) } ?? items
            let page = Array(rest.prefix(size))
            return (page, rest.count > size ? page.last.map(id) : nil)
        }
    }

    /// Tags as stored: a missing value is an empty one.
    static func tags(_ tags: [Tag]?) throws(APIError) -> [Tag] {
        let tags = (tags ?? []).map { Tag(key: $0.key ?? "", value: $0.value ?? "") }
        try checkTags(tags)
        return tags
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

    static func createLoadBalancer(_ input: ELBShapes.CreateLoadBalancer, _ c: Caller) async throws -> ELBShapes.LoadBalancers {
        let name = input.name
        try ELB.checkLoadBalancerName(name)
        let type = input.type ?? "application"
        guard type == "application" else {
            throw ELB.invalid("Load balancer type '\(type)' is not supported by Stowage: it runs application load balancers.")
        }
        let scheme = input.scheme ?? "internet-facing"
        guard scheme == "internet-facing" else {
            throw APIError("InvalidScheme", "Scheme '\(scheme)' is not supported by Stowage: a load balancer listens on an address of the installation's pool (STOWAGE_LB_ADDRESSES), whose reach the operator decides.")
        }
        let ipType = input.ipAddressType ?? "ipv4"
        guard ipType == "ipv4" else { throw ELB.invalid("IpAddressType '\(ipType)' is not supported by Stowage: load balancers are ipv4.") }
        if input.subnets != nil || input.subnetMappings != nil {
            throw APIError("InvalidSubnet", "Stowage load balancers have no subnets: each gets an address from the installation's pool (STOWAGE_LB_ADDRESSES). Omit Subnets.")
        }
        if input.securityGroups != nil {
            throw APIError("InvalidSecurityGroup", "Stowage load balancers have no security groups. Omit SecurityGroups.")
        }
        let tags = try tags(input.tags)
        let id = ELB.newId()
        try await c.authorize([c.backend.scope.loadBalancer(c.account, name: name, id: id)], requestTags: tags)
        let row = try await c.loadBalancing.createLoadBalancer(name: name, id: id, scheme: scheme, ipAddressType: ipType, tags: tags)
        return ELBShapes.LoadBalancers(loadBalancers: [shape(c, row)])
    }

    static func describeLoadBalancers(_ input: ELBShapes.DescribeLoadBalancers, _ c: Caller) async throws -> ELBShapes.LoadBalancers {
        let arns = input.loadBalancerArns ?? [], names = input.names ?? []
        let paging = try Paging(marker: input.marker, pageSize: input.pageSize)
        guard arns.isEmpty || names.isEmpty else { throw ELB.validation("Load balancer names and load balancer ARNs cannot be specified at the same time") }
        try await c.authorize(["*"])
        let page = paging.page(try await c.loadBalancing.loadBalancers(arns: arns, names: names), id: \.id)
        return ELBShapes.LoadBalancers(loadBalancers: page.items.map { shape(c, $0) }, nextMarker: page.next)
    }

    static func describeLoadBalancerAttributes(_ input: ELBShapes.LoadBalancerReference, _ c: Caller) async throws -> ELBShapes.Attributes {
        try await c.authorize([input.loadBalancerArn])
        _ = try await c.loadBalancing.requireLoadBalancer(input.loadBalancerArn)
        let pairs = [("deletion_protection.enabled", "false"), ("idle_timeout.timeout_seconds", "60"), ("routing.http2.enabled", "false")]
        return ELBShapes.Attributes(attributes: pairs.map { ELBShapes.Attribute(key: $0.0, value: $0.1) })
    }

    static func deleteLoadBalancer(_ input: ELBShapes.LoadBalancerReference, _ c: Caller) async throws -> ELBShapes.Empty {
        try await c.authorize([input.loadBalancerArn])
        try await c.loadBalancing.deleteLoadBalancer(input.loadBalancerArn)
        return ELBShapes.Empty()
    }

    // MARK: target groups

    static func createTargetGroup(_ input: ELBShapes.CreateTargetGroup, _ c: Caller) async throws -> ELBShapes.TargetGroups {
        let name = input.name
        try ELB.checkTargetGroupName(name)
        let targetType = input.targetType ?? "instance"
        guard ["instance", "ip"].contains(targetType) else {
            throw ELB.invalid("Target type '\(targetType)' is not supported by Stowage: use instance or ip.")
        }
        let proto = try ELB.checkProtocol(input.protocol, what: "Target group")
        let port = try ELB.checkPort(input.port, what: "the target group")
        if let version = input.protocolVersion, version != "HTTP1" {
            throw ELB.invalid("Protocol version '\(version)' is not supported by Stowage: targets speak HTTP1.")
        }
        if let vpc = input.vpcId { throw ELB.invalid("Stowage has no VPCs: omit VpcId ('\(vpc)').") }
        if let ipType = input.ipAddressType, ipType != "ipv4" { throw ELB.invalid("IpAddressType '\(ipType)' is not supported: targets are ipv4.") }
        let health = try healthCheck(input.healthCheck, base: ELB.HealthCheck())
        let tags = try tags(input.tags)
        let id = ELB.newId()
        try await c.authorize([c.backend.scope.targetGroup(c.account, name: name, id: id)], requestTags: tags)
        let row = try await c.loadBalancing.createTargetGroup(name: name, id: id, protocolName: proto, port: port, targetType: targetType,
                                                              health: health, tags: tags)
        return ELBShapes.TargetGroups(targetGroups: [shape(c, row, loadBalancers: [:])])
    }

    static func describeTargetGroups(_ input: ELBShapes.DescribeTargetGroups, _ c: Caller) async throws -> ELBShapes.TargetGroups {
        let arns = input.targetGroupArns ?? [], names = input.names ?? []
        let paging = try Paging(marker: input.marker, pageSize: input.pageSize)
        guard [input.loadBalancerArn != nil, !arns.isEmpty, !names.isEmpty].filter({ $0 }).count <= 1 else {
            throw ELB.validation("A load balancer ARN, target group ARNs and target group names cannot be specified together")
        }
        try await c.authorize(["*"])
        let (rows, lbs) = try await c.loadBalancing.targetGroups(loadBalancerArn: input.loadBalancerArn, arns: arns, names: names)
        let page = paging.page(rows, id: \.id)
        return ELBShapes.TargetGroups(targetGroups: page.items.map { shape(c, $0, loadBalancers: lbs) }, nextMarker: page.next)
    }

    static func modifyTargetGroup(_ input: ELBShapes.ModifyTargetGroup, _ c: Caller) async throws -> ELBShapes.TargetGroups {
        try await c.authorize([input.targetGroupArn])
        let current = try await c.loadBalancing.requireTargetGroup(input.targetGroupArn)
        let health = try healthCheck(input.healthCheck, base: current.health)
        let (row, lbs) = try await c.loadBalancing.modifyTargetGroup(input.targetGroupArn, health: health)
        return ELBShapes.TargetGroups(targetGroups: [shape(c, row, loadBalancers: lbs)])
    }

    static func modifyTargetGroupAttributes(_ input: ELBShapes.ModifyTargetGroupAttributes, _ c: Caller) async throws -> ELBShapes.Attributes {
        let requested = input.attributes.map { ($0.key, $0.value ?? "") }
        guard !requested.isEmpty else { throw ELB.validation("At least one attribute must be specified.") }
        try await c.authorize([input.targetGroupArn])
        return attributes(try await c.loadBalancing.modifyTargetGroupAttributes(input.targetGroupArn, requested))
    }

    static func describeTargetGroupAttributes(_ input: ELBShapes.TargetGroupReference, _ c: Caller) async throws -> ELBShapes.Attributes {
        try await c.authorize([input.targetGroupArn])
        return attributes(try await c.loadBalancing.requireTargetGroup(input.targetGroupArn).attributes)
    }

    static func deleteTargetGroup(_ input: ELBShapes.TargetGroupReference, _ c: Caller) async throws -> ELBShapes.Empty {
        try await c.authorize([input.targetGroupArn])
        try await c.loadBalancing.deleteTargetGroup(input.targetGroupArn)
        return ELBShapes.Empty()
    }

    // MARK: listeners

    static func createListener(_ input: ELBShapes.CreateListener, _ c: Caller) async throws -> ELBShapes.Listeners {
        let proto = try ELB.checkProtocol(input.protocol, what: "Listener")
        let port = try ELB.checkPort(input.port ?? 80, what: "the listener")
        let actions = try actions(input.defaultActions)
        let tags = try tags(input.tags)
        try await c.authorize([input.loadBalancerArn], requestTags: tags)
        let row = try await c.loadBalancing.createListener(loadBalancerArn: input.loadBalancerArn, id: ELB.newId(), protocolName: proto, port: port,
                                                           actions: actions, tags: tags)
        return ELBShapes.Listeners(listeners: [shape(c, row)])
    }

    static func describeListeners(_ input: ELBShapes.DescribeListeners, _ c: Caller) async throws -> ELBShapes.Listeners {
        let arns = input.listenerArns ?? []
        let paging = try Paging(marker: input.marker, pageSize: input.pageSize)
        guard (input.loadBalancerArn == nil) != arns.isEmpty else {
            throw ELB.validation("You must specify either listener ARNs or a load balancer ARN, not both")
        }
        try await c.authorize(["*"])
        let page = paging.page(try await c.loadBalancing.listeners(loadBalancerArn: input.loadBalancerArn, arns: arns), id: \.id)
        return ELBShapes.Listeners(listeners: page.items.map { shape(c, $0) }, nextMarker: page.next)
    }

    static func modifyListener(_ input: ELBShapes.ModifyListener, _ c: Caller) async throws -> ELBShapes.Listeners {
        let proto = try input.protocol.map { value throws(APIError) in try ELB.checkProtocol(value, what: "Listener") }
        if let port = input.port { _ = try ELB.checkPort(port, what: "the listener") }
        let actions = input.defaultActions.isEmpty ? nil : try actions(input.defaultActions)
        try await c.authorize([input.listenerArn])
        let row = try await c.loadBalancing.modifyListener(input.listenerArn, protocolName: proto, port: input.port, actions: actions)
        return ELBShapes.Listeners(listeners: [shape(c, row)])
    }

    static func deleteListener(_ input: ELBShapes.ListenerReference, _ c: Caller) async throws -> ELBShapes.Empty {
        try await c.authorize([input.listenerArn])
        try await c.loadBalancing.deleteListener(input.listenerArn)
        return ELBShapes.Empty()
    }

    // MARK: rules

    static func createRule(_ input: ELBShapes.CreateRule, _ c: Caller) async throws -> ELBShapes.Rules {
        guard let priority = input.priority else { throw ELB.validation("A priority must be specified.") }
        guard (1...ELB.maxRulePriority).contains(priority) else { throw ELB.validation("Priority must be from 1 to \(ELB.maxRulePriority).") }
        let conditions = try conditions(input.conditions)
        let actions = try actions(input.actions)
        let tags = try tags(input.tags)
        if input.transforms != nil { throw ELB.invalid("Rule transforms (host header and URL rewrites) are not supported by Stowage.") }
        try await c.authorize([input.listenerArn], requestTags: tags)
        let (rule, l) = try await c.loadBalancing.createRule(listenerArn: input.listenerArn, id: ELB.newId(), priority: priority,
                                                             conditions: conditions, actions: actions, tags: tags)
        return ELBShapes.Rules(rules: [shape(c, rule, l)])
    }

    static func describeRules(_ input: ELBShapes.DescribeRules, _ c: Caller) async throws -> ELBShapes.Rules {
        let arns = input.ruleArns ?? []
        let paging = try Paging(marker: input.marker, pageSize: input.pageSize)
        guard (input.listenerArn == nil) != arns.isEmpty else { throw ELB.validation("You must specify either listener ARN or rule ARNs, not both") }
        try await c.authorize(["*"])
        let rows = try await c.loadBalancing.rules(listenerArn: input.listenerArn, arns: arns)
        let page = paging.page(rows, id: { $0.0?.id ?? "default-\($0.1.id)" })
        return ELBShapes.Rules(rules: page.items.map { shape(c, $0.0, $0.1) }, nextMarker: page.next)
    }

    static func modifyRule(_ input: ELBShapes.ModifyRule, _ c: Caller) async throws -> ELBShapes.Rules {
        let conditions = input.conditions.isEmpty ? nil : try conditions(input.conditions)
        let actions = input.actions.isEmpty ? nil : try actions(input.actions)
        try await c.authorize([input.ruleArn])
        let (rule, l) = try await c.loadBalancing.modifyRule(input.ruleArn, conditions: conditions, actions: actions)
        return ELBShapes.Rules(rules: [shape(c, rule, l)])
    }

    static func deleteRule(_ input: ELBShapes.RuleReference, _ c: Caller) async throws -> ELBShapes.Empty {
        try await c.authorize([input.ruleArn])
        try await c.loadBalancing.deleteRule(input.ruleArn)
        return ELBShapes.Empty()
    }

    static func setRulePriorities(_ input: ELBShapes.SetRulePriorities, _ c: Caller) async throws -> ELBShapes.Rules {
        var pairs: [(arn: String, priority: Int)] = []
        for p in input.rulePriorities {
            guard let priority = p.priority, (1...ELB.maxRulePriority).contains(priority) else {
                throw ELB.validation("Each rule priority must be from 1 to \(ELB.maxRulePriority).")
            }
            pairs.append((p.ruleArn, priority))
        }
        guard !pairs.isEmpty else { throw ELB.validation("At least one rule priority must be specified.") }
        guard Set(pairs.map(\.arn)).count == pairs.count else { throw ELB.validation("A rule is named twice.") }
        for pair in pairs { try await c.authorize([pair.arn]) }
        let rows = try await c.loadBalancing.setRulePriorities(pairs)
        return ELBShapes.Rules(rules: rows.map { shape(c, $0.0, $0.1) })
    }

    // MARK: targets

    /// Targets as a request names them, checked: ports in range, at least one, at most a request's worth.
    static func targets(_ inputs: [ELBShapes.TargetInput]) throws(APIError) -> [LoadBalancing.TargetReference] {
        var out: [LoadBalancing.TargetReference] = []
        for t in inputs {
            if let port = t.port { _ = try ELB.checkPort(port, what: "the target") }
            if t.quicServerId != nil { throw ELB.invalid("QuicServerId applies to QUIC listeners, which Stowage does not run.") }
            out.append(LoadBalancing.TargetReference(id: t.id, port: t.port, zone: t.availabilityZone))
        }
        guard !out.isEmpty else { throw ELB.validation("At least one target must be specified.") }
        guard out.count <= ELB.maxTargetsPerRequest else { throw APIError("TooManyTargets", "At most \(ELB.maxTargetsPerRequest) targets per request.") }
        return out
    }

    static func registerTargets(_ input: ELBShapes.Targets, _ c: Caller) async throws -> ELBShapes.Empty {
        let wanted = try targets(input.targets)
        try await c.authorize([input.targetGroupArn])
        try await c.loadBalancing.registerTargets(input.targetGroupArn, wanted)
        return ELBShapes.Empty()
    }

    static func deregisterTargets(_ input: ELBShapes.Targets, _ c: Caller) async throws -> ELBShapes.Empty {
        let wanted = try targets(input.targets)
        try await c.authorize([input.targetGroupArn])
        try await c.loadBalancing.deregisterTargets(input.targetGroupArn, wanted)
        return ELBShapes.Empty()
    }

    static func describeTargetHealth(_ input: ELBShapes.DescribeTargetHealth, _ c: Caller) async throws -> ELBShapes.TargetHealthDescriptions {
        let wanted = input.targets.isEmpty ? [] : try targets(input.targets)
        if !(input.include ?? []).isEmpty {
            throw ELB.validation("Include (anomaly detection) is not supported by Stowage; omit it.")
        }
        try await c.authorize([input.targetGroupArn])
        let (tg, rows, inUse) = try await c.loadBalancing.targetHealth(input.targetGroupArn)
        func describe(_ id: String, _ port: Int, state: String, reason: String?, description: String?) -> ELBShapes.TargetHealthDescription {
            ELBShapes.TargetHealthDescription(target: .init(id: id, port: port),
                                              healthCheckPort: tg.health.port == "traffic-port" ? String(port) : tg.health.port,
                                              targetHealth: .init(state: state, reason: reason, description: description))
        }
        var out: [ELBShapes.TargetHealthDescription] = []
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
        return ELBShapes.TargetHealthDescriptions(targetHealthDescriptions: out)
    }

    // MARK: limits

    /// The limits Stowage enforces, by ELB's names: a load balancer takes one address of the installation's pool
    /// (STOWAGE_LB_ADDRESSES), a forward action at most five target groups, a condition at most five values.
    static func describeAccountLimits(_ input: ELBShapes.DescribeAccountLimits, _ c: Caller) async throws -> ELBShapes.Limits {
        let paging = try Paging(marker: input.marker, pageSize: input.pageSize)
        try await c.authorize(["*"])
        let limits = [
            ELBShapes.Limit(name: "application-load-balancers", max: String(c.backend.loadBalancerAddresses.count)),
            ELBShapes.Limit(name: "condition-values-per-alb-rule", max: String(ELB.maxConditionValues)),
            ELBShapes.Limit(name: "target-groups-per-action-on-application-load-balancer", max: String(ELB.maxTargetGroupsPerForward)),
        ]
        let page = paging.page(limits, id: \.name)
        return ELBShapes.Limits(limits: page.items, nextMarker: page.next)
    }

    // MARK: tags

    static func addTags(_ input: ELBShapes.AddTags, _ c: Caller) async throws -> ELBShapes.Empty {
        let arns = input.resourceArns
        guard !arns.isEmpty, !input.tags.isEmpty else { throw ELB.validation("ResourceArns and Tags must not be empty.") }
        let tags = try tags(input.tags)
        try await c.authorize(arns, requestTags: tags)
        try await c.loadBalancing.addTags(arns, tags, check: { try checkTags($0) })
        return ELBShapes.Empty()
    }

    static func removeTags(_ input: ELBShapes.RemoveTags, _ c: Caller) async throws -> ELBShapes.Empty {
        guard !input.resourceArns.isEmpty, !input.tagKeys.isEmpty else { throw ELB.validation("ResourceArns and TagKeys must not be empty.") }
        try await c.authorize(input.resourceArns)
        try await c.loadBalancing.removeTags(input.resourceArns, keys: input.tagKeys)
        return ELBShapes.Empty()
    }

    static func describeTags(_ input: ELBShapes.DescribeTags, _ c: Caller) async throws -> ELBShapes.TagDescriptions {
        let arns = input.resourceArns
        guard (1...20).contains(arns.count) else { throw ELB.validation("Between 1 and 20 resource ARNs must be specified.") }
        try await c.authorize(arns)
        return ELBShapes.TagDescriptions(tagDescriptions: try await c.loadBalancing.tags(arns).map { arn, tags in
            ELBShapes.TagDescription(resourceArn: arn, tags: tags.map { Tag(key: $0.key ?? "", value: $0.value ?? "") })
        })
    }
}

extension Caller {
    /// The load-balancing use cases, acting for this caller's account.
    var loadBalancing: LoadBalancing {
        LoadBalancing(tenant: tenant, store: backend.loadBalancing, instances: backend.instances, addresses: backend.loadBalancerAddresses,
                      targetPolicy: backend.targetPolicy)
    }
}

/// The ELBv2 operations, declared once: the query door and the REST routes dispatch here.
public enum ELBOperations {
    public static let all: [Operation] = [
        op("CreateLoadBalancer", .write, ELBActions.createLoadBalancer), op("DescribeLoadBalancers", .read, ELBActions.describeLoadBalancers),
        op("DeleteLoadBalancer", .write, ELBActions.deleteLoadBalancer),
        op("DescribeLoadBalancerAttributes", .read, ELBActions.describeLoadBalancerAttributes),
        op("CreateTargetGroup", .write, ELBActions.createTargetGroup), op("DescribeTargetGroups", .read, ELBActions.describeTargetGroups),
        op("ModifyTargetGroup", .write, ELBActions.modifyTargetGroup), op("DeleteTargetGroup", .write, ELBActions.deleteTargetGroup),
        op("ModifyTargetGroupAttributes", .write, ELBActions.modifyTargetGroupAttributes),
        op("DescribeTargetGroupAttributes", .read, ELBActions.describeTargetGroupAttributes),
        op("CreateListener", .write, ELBActions.createListener), op("DescribeListeners", .read, ELBActions.describeListeners),
        op("ModifyListener", .write, ELBActions.modifyListener), op("DeleteListener", .write, ELBActions.deleteListener),
        op("CreateRule", .write, ELBActions.createRule), op("DescribeRules", .read, ELBActions.describeRules),
        op("ModifyRule", .write, ELBActions.modifyRule), op("DeleteRule", .write, ELBActions.deleteRule),
        op("SetRulePriorities", .write, ELBActions.setRulePriorities),
        op("RegisterTargets", .write, ELBActions.registerTargets), op("DeregisterTargets", .write, ELBActions.deregisterTargets),
        op("DescribeTargetHealth", .read, ELBActions.describeTargetHealth),
        op("DescribeAccountLimits", .read, ELBActions.describeAccountLimits),
        op("AddTags", .write, ELBActions.addTags), op("RemoveTags", .write, ELBActions.removeTags), op("DescribeTags", .read, ELBActions.describeTags),
    ]

    static func op<Input: Decodable & Sendable, Output: Encodable & Sendable>(
        _ name: String, _ access: Access, _ handler: @escaping @Sendable (Input, Caller) async throws -> Output
    ) -> Operation {
        Operation.query(.elasticloadbalancing, name, access, handler)
    }
}

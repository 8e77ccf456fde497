import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// The ELBv2 use cases: each opens its own transaction (a read, or a write that NOTIFYs `stowage lb` when it
/// commits) and takes values the door has already decoded, checked and authorized.
public struct LoadBalancing: Sendable {
    let tenant: TenantContext
    let store: LoadBalancerStore
    let instances: ContainerInstanceStore
    /// Where load balancers listen, one address each (STOWAGE_LB_ADDRESSES).
    let addresses: [String]
    /// Where targets and health checks may point; every server's announced endpoints are added when checked.
    let targetPolicy: TargetPolicy

    public init(tenant: TenantContext, store: LoadBalancerStore, instances: ContainerInstanceStore, addresses: [String],
                targetPolicy: TargetPolicy) {
        self.tenant = tenant; self.store = store; self.instances = instances; self.addresses = addresses; self.targetPolicy = targetPolicy
    }

    var account: String { tenant.account }

    func write<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await tenant.database.transaction { [store] conn in
            let value = try await body(conn)
            try await store.notify(conn)
            return value
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await tenant.database.withConnection { try await body($0) }
    }

    // MARK: ARNs and lookups

    public func arn(_ lb: LoadBalancerRow) -> String { tenant.scope.loadBalancer(account, name: lb.name, id: lb.id) }
    public func arn(_ tg: TargetGroupRow) -> String { tenant.scope.targetGroup(account, name: tg.name, id: tg.id) }
    public func arn(_ l: ListenerRow) -> String {
        tenant.scope.listener(account, loadBalancer: l.loadBalancerName, loadBalancerId: l.loadBalancerId, id: l.id)
    }
    public func arn(_ r: RuleRow?, _ l: ListenerRow) -> String {
        tenant.scope.listenerRule(account, loadBalancer: l.loadBalancerName, loadBalancerId: l.loadBalancerId, listenerId: l.id,
                                  id: r?.id ?? "default")
    }

    public static func lbNotFound(_ arn: String) -> APIError { ELB.notFound("LoadBalancerNotFound", "Load balancer '\(arn)' not found") }
    public static func tgNotFound(_ arn: String) -> APIError { ELB.notFound("TargetGroupNotFound", "Target groups '\(arn)' not found") }
    static func listenerNotFound(_ arn: String) -> APIError { ELB.notFound("ListenerNotFound", "Listener '\(arn)' not found") }
    static func ruleNotFound(_ arn: String) -> APIError { ELB.notFound("RuleNotFound", "Rule '\(arn)' not found") }

    func loadBalancer(_ conn: PostgresConnection, _ arn: String) async throws -> LoadBalancerRow {
        guard case .loadBalancer(let name, let id)? = ELB.resource(arn, account: account),
              let row = try await store.loadBalancers(conn, account: account, ids: [id]).first, row.name == name
        else { throw Self.lbNotFound(arn) }
        return row
    }

    func targetGroup(_ conn: PostgresConnection, _ arn: String) async throws -> TargetGroupRow {
        guard case .targetGroup(let name, let id)? = ELB.resource(arn, account: account),
              let row = try await store.targetGroups(conn, account: account, ids: [id]).first, row.name == name
        else { throw Self.tgNotFound(arn) }
        return row
    }

    func listener(_ conn: PostgresConnection, _ arn: String) async throws -> ListenerRow {
        guard case .listener(let lb, let id)? = ELB.resource(arn, account: account),
              let row = try await store.listeners(conn, account: account, ids: [id]).first, row.loadBalancerId == lb,
              // The whole ARN, load balancer name included: a Deny written for the listener's ARN must match what is acted on.
              self.arn(row) == arn
        else { throw Self.listenerNotFound(arn) }
        return row
    }

    func rule(_ conn: PostgresConnection, _ arn: String) async throws -> (RuleRow?, ListenerRow) {
        guard case .rule(let lb, let listenerId, let id)? = ELB.resource(arn, account: account),
              let listener = try await store.listeners(conn, account: account, ids: [listenerId]).first,
              listener.loadBalancerId == lb
        else { throw Self.ruleNotFound(arn) }
        // The default rule of a listener has the listener's own id.
        if id == "default" {
            guard self.arn(nil, listener) == arn else { throw Self.ruleNotFound(arn) }
            return (nil, listener)
        }
        guard let rule = try await store.rules(conn, account: account, ids: [id]).first, rule.listenerId == listenerId,
              self.arn(rule, listener) == arn else {
            throw Self.ruleNotFound(arn)
        }
        return (rule, listener)
    }

    /// Checks that every group an action forwards to exists in this account.
    func checkGroups(_ conn: PostgresConnection, _ actions: [ELB.Action]) async throws {
        for arn in Set(actions.flatMap { $0.targetGroups.map(\.targetGroupArn) }) {
            _ = try await targetGroup(conn, arn)
        }
    }

    func loadBalancersById(_ conn: PostgresConnection) async throws -> [String: LoadBalancerRow] {
        Dictionary(uniqueKeysWithValues: try await store.loadBalancers(conn, account: account).map { ($0.id, $0) })
    }

    // MARK: load balancers

    public func createLoadBalancer(name: String, id: String, scheme: String, ipAddressType: String, tags: [Tag]) async throws -> LoadBalancerRow {
        let now = tenant.clock.now()
        return try await write { [self] conn in
            guard let row = try await store.createLoadBalancer(conn, account: account, name: name, id: id, scheme: scheme,
                                                               ipAddressType: ipAddressType, pool: addresses, tags: tags, now: now)
            else { throw APIError("DuplicateLoadBalancerName", "A load balancer with the same name '\(name)' exists, but with different settings") }
            return row
        }
    }

    /// The account's load balancers, or those the ARNs or names give (each must exist).
    public func loadBalancers(arns: [String], names: [String]) async throws -> [LoadBalancerRow] {
        let rows = try await read { [self] conn in
            try await store.loadBalancers(conn, account: account, names: names.isEmpty ? nil : names,
                                          ids: arns.isEmpty ? nil : arns.map {
                                              if case .loadBalancer(_, let id)? = ELB.resource($0, account: account) { return id }
                                              return "-"
                                          })
        }
        if !arns.isEmpty, let missing = arns.first(where: { a in !rows.contains { arn($0) == a } }) { throw Self.lbNotFound(missing) }
        if !names.isEmpty, let missing = names.first(where: { n in !rows.contains { $0.name == n } }) {
            throw ELB.notFound("LoadBalancerNotFound", "One or more load balancers not found: '\(missing)'")
        }
        return rows
    }

    public func requireLoadBalancer(_ arn: String) async throws -> LoadBalancerRow {
        try await read { [self] conn in try await loadBalancer(conn, arn) }
    }

    /// Deleting one that is gone succeeds, as in AWS.
    public func deleteLoadBalancer(_ arn: String) async throws {
        try await write { [self] conn in
            guard let lb = try? await loadBalancer(conn, arn) else { return }
            try await store.deleteLoadBalancer(conn, account: account, id: lb.id)
        }
    }

    // MARK: target groups

    /// Creating the same group again answers with it, as AWS does; different settings are a conflict.
    public func createTargetGroup(name: String, id: String, protocolName: String, port: Int, targetType: String, health: ELB.HealthCheck,
                                  tags: [Tag]) async throws -> TargetGroupRow {
        let now = tenant.clock.now()
        return try await write { [self] conn -> TargetGroupRow in
            if let existing = try await store.targetGroups(conn, account: account, names: [name]).first {
                guard existing.port == port, existing.targetType == targetType, existing.health == health else {
                    throw APIError("DuplicateTargetGroupName", "A target group with the same name '\(name)' exists, but with different settings")
                }
                return existing
            }
            guard let row = try await store.createTargetGroup(conn, account: account, name: name, id: id, protocolName: protocolName, port: port,
                                                              targetType: targetType, health: health, tags: tags, now: now)
            else { throw APIError("DuplicateTargetGroupName", "A target group with the same name '\(name)' exists, but with different settings") }
            return row
        }
    }

    /// Target groups with the account's load balancers by id (what their answers name).
    public func targetGroups(loadBalancerArn: String?, arns: [String], names: [String]) async throws
        -> (groups: [TargetGroupRow], loadBalancers: [String: LoadBalancerRow])
    {
        let (rows, lbs) = try await read { [self] conn -> ([TargetGroupRow], [String: LoadBalancerRow]) in
            let lbs = try await loadBalancersById(conn)
            var lbId: String?
            if let loadBalancerArn { lbId = try await loadBalancer(conn, loadBalancerArn).id }
            let ids = arns.isEmpty ? nil : arns.map { arn -> String in
                if case .targetGroup(_, let id)? = ELB.resource(arn, account: account) { return id }
                return "-"
            }
            return (try await store.targetGroups(conn, account: account, names: names.isEmpty ? nil : names, ids: ids, loadBalancerId: lbId), lbs)
        }
        if let missing = arns.first(where: { a in !rows.contains { arn($0) == a } }) { throw Self.tgNotFound(missing) }
        if let missing = names.first(where: { n in !rows.contains { $0.name == n } }) {
            throw ELB.notFound("TargetGroupNotFound", "One or more target groups not found: '\(missing)'")
        }
        return (rows, lbs)
    }

    public func requireTargetGroup(_ arn: String) async throws -> TargetGroupRow {
        try await read { [self] conn in try await targetGroup(conn, arn) }
    }

    /// A new health check; a new check port must not point the checks of the group's targets at the control plane.
    public func modifyTargetGroup(_ arn: String, health: ELB.HealthCheck) async throws -> (TargetGroupRow, [String: LoadBalancerRow]) {
        try await write { [self] conn in
            var tg = try await targetGroup(conn, arn)
            tg.health = health
            let policy = try await policy(conn)
            for t in try await store.targets(conn, targetGroupId: tg.id) {
                try Self.checkTargetPolicy(policy, tg, address: t.address, id: t.targetId, port: t.port)
            }
            try await store.updateTargetGroup(conn, account: account, id: tg.id, health: tg.health, attributes: tg.attributes)
            return (tg, try await loadBalancersById(conn))
        }
    }

    public func modifyTargetGroupAttributes(_ arn: String, _ requested: [(String, String)]) async throws -> ELB.TargetGroupAttributes {
        try await write { [self] conn in
            let tg = try await targetGroup(conn, arn)
            var attributes = tg.attributes
            try attributes.apply(requested)
            try await store.updateTargetGroup(conn, account: account, id: tg.id, health: tg.health, attributes: attributes)
            return attributes
        }
    }

    /// Deleting one that is gone succeeds; one a listener or rule forwards to is in use.
    public func deleteTargetGroup(_ arn: String) async throws {
        try await write { [self] conn in
            guard let tg = try? await targetGroup(conn, arn) else { return }
            guard try await !store.inUse(conn, targetGroupId: tg.id) else {
                throw APIError("ResourceInUse", "Target group '\(arn)' is currently in use by a listener or a rule")
            }
            try await store.deleteTargetGroup(conn, account: account, id: tg.id)
        }
    }

    // MARK: listeners

    public func createListener(loadBalancerArn: String, id: String, protocolName: String, port: Int, actions: [ELB.Action],
                               tags: [Tag]) async throws -> ListenerRow {
        try await write { [self] conn -> ListenerRow in
            let lb = try await loadBalancer(conn, loadBalancerArn)
            try await checkGroups(conn, actions)
            guard try await store.createListener(conn, account: account, id: id, loadBalancerId: lb.id, protocolName: protocolName,
                                                 port: port, actions: actions, tags: tags)
            else { throw APIError("DuplicateListener", "A listener already exists on this port for this load balancer '\(loadBalancerArn)'") }
            return ListenerRow(id: id, loadBalancerId: lb.id, loadBalancerName: lb.name, protocolName: protocolName, port: port,
                               defaultActions: actions, tags: tags, account: account)
        }
    }

    public func listeners(loadBalancerArn: String?, arns: [String]) async throws -> [ListenerRow] {
        try await read { [self] conn -> [ListenerRow] in
            if let loadBalancerArn {
                return try await store.listeners(conn, account: account, loadBalancerId: loadBalancer(conn, loadBalancerArn).id)
            }
            var out: [ListenerRow] = []
            for a in arns { out.append(try await listener(conn, a)) }
            return out
        }
    }

    public func modifyListener(_ arn: String, protocolName: String?, port: Int?, actions: [ELB.Action]?) async throws -> ListenerRow {
        try await write { [self] conn -> ListenerRow in
            var l = try await listener(conn, arn)
            if let actions { try await checkGroups(conn, actions); l.defaultActions = actions }
            if let port { l.port = port }
            if let protocolName { l.protocolName = protocolName }
            guard try await store.modifyListener(conn, account: account, id: l.id, port: l.port, protocolName: l.protocolName,
                                                 actions: l.defaultActions)
            else { throw APIError("DuplicateListener", "A listener already exists on port \(l.port) for this load balancer") }
            return l
        }
    }

    public func deleteListener(_ arn: String) async throws {
        try await write { [self] conn in
            let l = try await listener(conn, arn)
            try await store.deleteListener(conn, account: account, id: l.id)
        }
    }

    // MARK: rules

    public func createRule(listenerArn: String, id: String, priority: Int, conditions: [ELB.Condition], actions: [ELB.Action],
                           tags: [Tag]) async throws -> (RuleRow, ListenerRow) {
        try await write { [self] conn -> (RuleRow, ListenerRow) in
            let l = try await listener(conn, listenerArn)
            try await checkGroups(conn, actions)
            guard try await store.createRule(conn, account: account, id: id, listenerId: l.id, priority: priority,
                                             conditions: conditions, actions: actions, tags: tags)
            else { throw APIError("PriorityInUse", "Priority '\(priority)' is currently in use") }
            return (RuleRow(id: id, listenerId: l.id, priority: priority, conditions: conditions, actions: actions, tags: tags), l)
        }
    }

    /// A listener's rules, its default rule last; or the rules the ARNs name.
    public func rules(listenerArn: String?, arns: [String]) async throws -> [(RuleRow?, ListenerRow)] {
        try await read { [self] conn -> [(RuleRow?, ListenerRow)] in
            if let listenerArn {
                let l = try await listener(conn, listenerArn)
                return try await store.rules(conn, account: account, listenerId: l.id).map { ($0, l) } + [(nil, l)]
            }
            var out: [(RuleRow?, ListenerRow)] = []
            for a in arns { out.append(try await rule(conn, a)) }
            return out
        }
    }

    /// The default rule is the listener's default actions; it has no conditions.
    public func modifyRule(_ arn: String, conditions: [ELB.Condition]?, actions: [ELB.Action]?) async throws -> (RuleRow?, ListenerRow) {
        try await write { [self] conn -> (RuleRow?, ListenerRow) in
            let (found, l) = try await rule(conn, arn)
            if let actions { try await checkGroups(conn, actions) }
            guard var rule = found else {
                guard conditions == nil else { throw ELB.invalid("The default rule has no conditions.") }
                var changed = l
                if let actions {
                    changed.defaultActions = actions
                    _ = try await store.modifyListener(conn, account: account, id: l.id, port: l.port, protocolName: l.protocolName, actions: actions)
                }
                return (nil, changed)
            }
            if let conditions { rule.conditions = conditions }
            if let actions { rule.actions = actions }
            try await store.modifyRule(conn, account: account, rule: rule)
            return (rule, l)
        }
    }

    public func deleteRule(_ arn: String) async throws {
        try await write { [self] conn in
            let (rule, _) = try await rule(conn, arn)
            guard let rule else { throw APIError("OperationNotPermitted", "Default rules cannot be deleted") }
            try await store.deleteRule(conn, account: account, id: rule.id)
        }
    }

    public func setRulePriorities(_ requested: [(arn: String, priority: Int)]) async throws -> [(RuleRow?, ListenerRow)] {
        try await write { [self] conn -> [(RuleRow?, ListenerRow)] in
            var byId: [String: Int] = [:]
            var listeners: [String: ListenerRow] = [:]
            for p in requested {
                let (rule, l) = try await rule(conn, p.arn)
                guard let rule else { throw APIError("OperationNotPermitted", "The priority of the default rule cannot be changed") }
                byId[rule.id] = p.priority
                listeners[rule.id] = l
            }
            guard try await store.setPriorities(conn, account: account, priorities: byId) else {
                throw APIError("PriorityInUse", "Two rules of a listener would share a priority")
            }
            let changed = try await store.rules(conn, account: account, ids: Array(byId.keys))
            return changed.compactMap { rule in listeners[rule.id].map { (rule, $0) } }
        }
    }

    // MARK: targets

    /// A target's requests and checks stay out of the control plane's network: an ip target outside the forbidden
    /// ranges (unless the operator allows them, --allow-target-cidr), and no target's traffic or check port on one
    /// of the control plane's own endpoints. `stowage lb` checks again before HAProxy hears of a target.
    static func checkTargetPolicy(_ policy: TargetPolicy, _ tg: TargetGroupRow, address: String, id: String, port: Int, task: Bool = false)
        throws(APIError)
    {
        if let why = policy.refusal(address: address, ports: tg.health.ports(traffic: port), task: task) {
            throw APIError("InvalidTarget", "The target '\(id)' (port \(port)) cannot be registered: \(why).")
        }
    }

    /// This server's target policy with every server's announced endpoints.
    func policy(_ conn: PostgresConnection) async throws -> TargetPolicy {
        let announced = try await ControlPlaneEndpointStore(logger: tenant.logger).all(conn)
        return targetPolicy.adding(announced.compactMap(\.refused))
    }

    /// Where a target is reached: an ip target's own address, or the address an instance's agent reported.
    func targetAddress(_ conn: PostgresConnection, _ tg: TargetGroupRow, id: String) async throws -> String {
        switch tg.targetType {
        case "ip":
            guard !id.contains("/"), let address = CIDR(id), address.bytes.count == 4 else {
                throw APIError("InvalidTarget", "The IP address '\(id)' is not a valid IPv4 address")
            }
            return CIDR.format(address.bytes)
        default:
            guard id.hasPrefix("i-"), let address = try await instances.hostAddress(conn, account: account, ec2InstanceId: id) else {
                throw APIError("InvalidTarget", "The following targets are not valid instances of this account's clusters: '\(id)'")
            }
            return address
        }
    }

    /// An ip target in the task range must be one of the account's own live awsvpc tasks (the range is every
    /// tenant's tasks): the target then carries that task, as a service's would. Nil outside the range.
    func ownTask(_ conn: PostgresConnection, _ tg: TargetGroupRow, address: String) async throws -> String? {
        guard tg.targetType == "ip", TaskNetwork.inTaskRange(address) else { return nil }
        guard let task = try await TaskAddressStore(logger: tenant.logger).liveTask(conn, account: account, address: address) else {
            throw APIError("InvalidTarget", "The IP address '\(address)' is in the task address range \(AgentProtocol.taskAddressRange) and is not the address of one of this account's running tasks.")
        }
        return task
    }

    /// A target as a request names it: its id, and the port when it is not the group's.
    public struct TargetReference: Sendable {
        public var id: String
        public var port: Int?
        public var zone: String?
        public init(id: String, port: Int?, zone: String?) { self.id = id; self.port = port; self.zone = zone }
    }

    public func registerTargets(_ arn: String, _ wanted: [TargetReference]) async throws {
        let now = tenant.clock.now()
        try await write { [self] conn in
            let tg = try await targetGroup(conn, arn)
            let policy = try await policy(conn)
            var rows: [TargetRow] = []
            for t in wanted {
                let address = try await targetAddress(conn, tg, id: t.id)
                let task = try await ownTask(conn, tg, address: address)
                try Self.checkTargetPolicy(policy, tg, address: address, id: t.id, port: t.port ?? tg.port, task: task != nil)
                rows.append(TargetRow(targetGroupId: tg.id, targetId: t.id, port: t.port ?? tg.port, availabilityZone: t.zone, address: address,
                                      state: .initial, reason: nil, description: nil, registeredAt: now, drainingUntil: nil, taskId: task))
            }
            try await store.register(conn, account: account, rows)
        }
    }

    /// Each named target must be registered; they drain for the group's deregistration delay.
    public func deregisterTargets(_ arn: String, _ wanted: [TargetReference]) async throws {
        let now = tenant.clock.now()
        try await write { [self] conn in
            let tg = try await targetGroup(conn, arn)
            let registered = try await store.targets(conn, targetGroupId: tg.id)
            var chosen: [(id: String, port: Int)] = []
            for t in wanted {
                let matches = registered.filter { $0.targetId == t.id && (t.port == nil || $0.port == t.port) }
                guard !matches.isEmpty else {
                    throw APIError("InvalidTarget", "The following targets are not registered in target group '\(arn)': '\(t.id)'")
                }
                chosen += matches.map { ($0.targetId, $0.port) }
            }
            try await store.deregister(conn, targetGroupId: tg.id, targets: chosen,
                                       until: now.addingTimeInterval(TimeInterval(tg.attributes.deregistrationDelaySeconds)))
        }
    }

    /// The group, its targets, and whether a listener or rule forwards to it.
    public func targetHealth(_ arn: String) async throws -> (TargetGroupRow, [TargetRow], inUse: Bool) {
        try await read { [self] conn in
            let tg = try await targetGroup(conn, arn)
            return (tg, try await store.targets(conn, targetGroupId: tg.id), try await store.inUse(conn, targetGroupId: tg.id))
        }
    }

    // MARK: tags

    /// The table and id an ELB ARN names, checking it exists.
    func tagged(_ conn: PostgresConnection, _ arn: String) async throws -> (ELBTable, String, [Tag]) {
        switch ELB.resource(arn, account: account) {
        case .loadBalancer?: let lb = try await loadBalancer(conn, arn); return (.loadBalancers, lb.id, lb.tags)
        case .targetGroup?: let tg = try await targetGroup(conn, arn); return (.targetGroups, tg.id, tg.tags)
        case .listener?: let l = try await listener(conn, arn); return (.listeners, l.id, l.tags)
        case .rule?:
            guard let rule = try await rule(conn, arn).0 else { throw Self.ruleNotFound(arn) }
            return (.rules, rule.id, rule.tags)
        case nil: throw Self.lbNotFound(arn)
        }
    }

    /// New tags replace those with the same keys; `check` judges the merged set of each resource.
    public func addTags(_ arns: [String], _ tags: [Tag], check: @escaping @Sendable ([Tag]) throws -> Void) async throws {
        try await write { [self] conn in
            for arn in arns {
                let (table, id, current) = try await tagged(conn, arn)
                var merged = current.filter { old in !tags.contains { $0.key == old.key } } + tags
                merged.sort { ($0.key ?? "") < ($1.key ?? "") }
                try check(merged)
                try await store.setTags(conn, account: account, table: table, id: id, tags: merged)
            }
        }
    }

    public func removeTags(_ arns: [String], keys: [String]) async throws {
        try await write { [self] conn in
            for arn in arns {
                let (table, id, current) = try await tagged(conn, arn)
                try await store.setTags(conn, account: account, table: table, id: id, tags: current.filter { !keys.contains($0.key ?? "") })
            }
        }
    }

    public func tags(_ arns: [String]) async throws -> [(String, [Tag])] {
        try await read { [self] conn -> [(String, [Tag])] in
            var out: [(String, [Tag])] = []
            for arn in arns { out.append((arn, try await tagged(conn, arn).2)) }
            return out
        }
    }
}

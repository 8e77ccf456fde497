import Foundation
import Logging
import PostgresNIO
import StowageModel

/// A load balancer as stored.
public struct LoadBalancerRow: Sendable, Equatable {
    public var name: String
    public var id: String
    public var scheme: String
    public var ipAddressType: String
    public var address: String
    public var state: String
    public var tags: [Tag]
    public var createdAt: Date
    public var account: String
    /// Why `stowage lb` left it out of HAProxy (state `failed`).
    public var stateReason: String? = nil
}

public struct TargetGroupRow: Sendable, Equatable {
    public var name: String
    public var id: String
    public var protocolName: String
    public var port: Int
    public var targetType: String
    public var health: ELB.HealthCheck
    public var attributes: ELB.TargetGroupAttributes
    public var tags: [Tag]
    public var createdAt: Date
    public var account: String
    /// The load balancers whose listeners or rules forward to it.
    public var loadBalancerIds: [String]
}

public struct ListenerRow: Sendable, Equatable {
    public var id: String
    public var loadBalancerId: String
    public var loadBalancerName: String
    public var protocolName: String
    public var port: Int
    public var defaultActions: [ELB.Action]
    public var tags: [Tag]
    public var account: String

    public init(id: String, loadBalancerId: String, loadBalancerName: String, protocolName: String, port: Int, defaultActions: [ELB.Action],
                tags: [Tag], account: String) {
        self.id = id; self.loadBalancerId = loadBalancerId; self.loadBalancerName = loadBalancerName; self.protocolName = protocolName
        self.port = port; self.defaultActions = defaultActions; self.tags = tags; self.account = account
    }
}

public struct RuleRow: Sendable, Equatable {
    public var id: String
    public var listenerId: String
    public var priority: Int
    public var conditions: [ELB.Condition]
    public var actions: [ELB.Action]
    public var tags: [Tag]

    public init(id: String, listenerId: String, priority: Int, conditions: [ELB.Condition], actions: [ELB.Action], tags: [Tag]) {
        self.id = id; self.listenerId = listenerId; self.priority = priority; self.conditions = conditions; self.actions = actions; self.tags = tags
    }
}

public struct TargetRow: Sendable, Equatable {
    public var targetGroupId: String
    public var targetId: String
    public var port: Int
    public var availabilityZone: String?
    public var address: String
    public var state: ELB.TargetState
    public var reason: String?
    public var description: String?
    public var registeredAt: Date
    public var drainingUntil: Date?
    /// The ECS task that registered it (its id), for a service's targets.
    public var taskId: String?

    public init(targetGroupId: String, targetId: String, port: Int, availabilityZone: String?, address: String, state: ELB.TargetState,
                reason: String?, description: String?, registeredAt: Date, drainingUntil: Date?, taskId: String?) {
        self.targetGroupId = targetGroupId; self.targetId = targetId; self.port = port; self.availabilityZone = availabilityZone
        self.address = address; self.state = state; self.reason = reason; self.description = description
        self.registeredAt = registeredAt; self.drainingUntil = drainingUntil; self.taskId = taskId
    }
}

/// The ELBv2 tables. Writes that change what HAProxy serves NOTIFY `load_balancers` so `stowage lb` re-reads.
public struct LoadBalancerStore: Sendable {
    let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    public static let channel = "load_balancers"

    /// Tells the `stowage lb` processes to re-read (delivered when the transaction commits).
    public func notify(_ conn: PostgresConnection) async throws {
        try await conn.query("SELECT pg_notify(\(Self.channel), '')", logger: logger)
    }

    static func json<T: Encodable>(_ value: T) throws -> String { try ECSJSON.encodeString(value) }

    /// The first column of every row, as text.
    func column(_ query: PostgresQuery, _ conn: PostgresConnection) async throws -> [String] {
        var out: [String] = []
        for try await value in try await conn.query(query, logger: logger).decode(String.self) { out.append(value) }
        return out
    }
    static func decoded<T: Decodable>(_ type: T.Type, _ text: String) -> T? { try? ECSJSON.decode(type, from: text) }

    // MARK: load balancers

    static let lbColumns = "name, id, scheme, ip_address_type, host(address), state, tags::text, created_at, account_id, state_reason"

    func loadBalancers(_ query: PostgresQuery, _ conn: PostgresConnection) async throws -> [LoadBalancerRow] {
        var out: [LoadBalancerRow] = []
        for try await r in try await conn.query(query, logger: logger)
            .decode((String, String, String, String, String, String, String, Date, String, String?).self) {
            out.append(LoadBalancerRow(name: r.0, id: r.1, scheme: r.2, ipAddressType: r.3, address: r.4, state: r.5,
                                       tags: Self.decoded([Tag].self, r.6) ?? [], createdAt: r.7, account: r.8, stateReason: r.9))
        }
        return out
    }

    /// Inserts a load balancer on the first free address of the pool; nil when the name is taken, throws
    /// `TooManyLoadBalancers` when the pool is used up.
    public func createLoadBalancer(_ conn: PostgresConnection, account: String, name: String, id: String, scheme: String,
                                   ipAddressType: String, pool: [String], tags: [Tag], now: Date) async throws -> LoadBalancerRow? {
        // One allocation at a time across the fleet of servers: the address is unique, and a loser would only retry.
        try await conn.query("SELECT pg_advisory_xact_lock(hashtext('stowage.lb-addresses'))", logger: logger)
        var address: String?
        for try await a in try await conn.query("""
            SELECT host(a) FROM unnest(\(pool)::inet[]) WITH ORDINALITY AS p(a, n)
            WHERE NOT EXISTS (SELECT 1 FROM load_balancers WHERE address = a) ORDER BY n LIMIT 1
            """, logger: logger).decode(String.self) { address = a }
        guard let address else {
            throw APIError("TooManyLoadBalancers", "Every load balancer address this installation has (\(pool.count)) is in use; an operator can add addresses (STOWAGE_LB_ADDRESSES).")
        }
        return try await loadBalancers("""
            INSERT INTO load_balancers (account_id, name, id, scheme, ip_address_type, address, tags, created_at)
            VALUES (\(account), \(name), \(id), \(scheme), \(ipAddressType), \(address)::inet, \(try Self.json(tags))::jsonb, \(now))
            ON CONFLICT (account_id, name) DO NOTHING
            RETURNING \(unescaped: Self.lbColumns)
            """, conn).first
    }

    /// The account's load balancers: all, or those named or with these ids.
    public func loadBalancers(_ conn: PostgresConnection, account: String, names: [String]? = nil, ids: [String]? = nil) async throws -> [LoadBalancerRow] {
        try await loadBalancers("""
            SELECT \(unescaped: Self.lbColumns) FROM load_balancers
            WHERE account_id = \(account) AND (\(names)::text[] IS NULL OR name = ANY(\(names)::text[]))
              AND (\(ids)::text[] IS NULL OR id = ANY(\(ids)::text[]))
            ORDER BY created_at, name
            """, conn)
    }

    /// Every load balancer of every tenant: what `stowage lb` serves.
    public func allLoadBalancers(_ conn: PostgresConnection) async throws -> [LoadBalancerRow] {
        try await loadBalancers("SELECT \(unescaped: Self.lbColumns) FROM load_balancers ORDER BY address", conn)
    }

    public func setState(_ conn: PostgresConnection, ids: [String], state: String, reason: String? = nil) async throws {
        try await conn.query("""
            UPDATE load_balancers SET state = \(state), state_reason = \(reason)
            WHERE id = ANY(\(ids)::text[]) AND (state <> \(state) OR state_reason IS DISTINCT FROM \(reason))
            """, logger: logger)
    }

    /// Deletes a load balancer with its listeners and rules; its target groups stay (as in AWS).
    public func deleteLoadBalancer(_ conn: PostgresConnection, account: String, id: String) async throws {
        try await conn.query("DELETE FROM load_balancers WHERE account_id = \(account) AND id = \(id)", logger: logger)
    }

    // MARK: target groups

    static let tgColumns = """
        g.name, g.id, g.protocol, g.port, g.target_type, g.health::text, g.attributes::text, g.tags::text, g.created_at, g.account_id,
        COALESCE((SELECT array_agg(DISTINCT l.load_balancer_id) FROM forwards f JOIN listeners l ON l.id = f.listener_id
                  WHERE f.target_group_id = g.id), '{}')
        """

    func targetGroups(_ query: PostgresQuery, _ conn: PostgresConnection) async throws -> [TargetGroupRow] {
        var out: [TargetGroupRow] = []
        for try await r in try await conn.query(query, logger: logger)
            .decode((String, String, String, Int, String, String, String, String, Date, String, [String]).self)
        {
            out.append(TargetGroupRow(name: r.0, id: r.1, protocolName: r.2, port: r.3, targetType: r.4,
                                      health: Self.decoded(ELB.HealthCheck.self, r.5) ?? ELB.HealthCheck(),
                                      attributes: Self.decoded(ELB.TargetGroupAttributes.self, r.6) ?? ELB.TargetGroupAttributes(),
                                      tags: Self.decoded([Tag].self, r.7) ?? [], createdAt: r.8, account: r.9, loadBalancerIds: r.10.sorted()))
        }
        return out
    }

    /// Inserts a target group; nil when the name is taken.
    public func createTargetGroup(_ conn: PostgresConnection, account: String, name: String, id: String, protocolName: String, port: Int,
                                  targetType: String, health: ELB.HealthCheck, tags: [Tag], now: Date) async throws -> TargetGroupRow? {
        let inserted = try await column("""
            INSERT INTO target_groups (account_id, name, id, protocol, port, target_type, health, attributes, tags, created_at)
            VALUES (\(account), \(name), \(id), \(protocolName), \(port), \(targetType), \(try Self.json(health))::jsonb,
                    \(try Self.json(ELB.TargetGroupAttributes()))::jsonb, \(try Self.json(tags))::jsonb, \(now))
            ON CONFLICT (account_id, name) DO NOTHING RETURNING id
            """, conn)
        guard !inserted.isEmpty else { return nil }
        return try await targetGroups(conn, account: account, ids: [id]).first
    }

    public func targetGroups(_ conn: PostgresConnection, account: String, names: [String]? = nil, ids: [String]? = nil,
                             loadBalancerId: String? = nil) async throws -> [TargetGroupRow] {
        try await targetGroups("""
            SELECT \(unescaped: Self.tgColumns) FROM target_groups g
            WHERE g.account_id = \(account) AND (\(names)::text[] IS NULL OR g.name = ANY(\(names)::text[]))
              AND (\(ids)::text[] IS NULL OR g.id = ANY(\(ids)::text[]))
              AND (\(loadBalancerId)::text IS NULL OR EXISTS (SELECT 1 FROM forwards f JOIN listeners l ON l.id = f.listener_id
                                                            WHERE f.target_group_id = g.id AND l.load_balancer_id = \(loadBalancerId)))
            ORDER BY g.created_at, g.name
            """, conn)
    }

    /// Target groups by id, whatever their account (the caller got the ids from its own rows).
    public func targetGroupsById(_ conn: PostgresConnection, ids: [String]) async throws -> [String: TargetGroupRow] {
        let rows = try await targetGroups("SELECT \(unescaped: Self.tgColumns) FROM target_groups g WHERE g.id = ANY(\(ids)::text[])", conn)
        return Dictionary(rows.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public func allTargetGroups(_ conn: PostgresConnection) async throws -> [TargetGroupRow] {
        try await targetGroups("SELECT \(unescaped: Self.tgColumns) FROM target_groups g ORDER BY g.id", conn)
    }

    public func updateTargetGroup(_ conn: PostgresConnection, account: String, id: String, health: ELB.HealthCheck,
                                  attributes: ELB.TargetGroupAttributes) async throws {
        try await conn.query("""
            UPDATE target_groups SET health = \(try Self.json(health))::jsonb, attributes = \(try Self.json(attributes))::jsonb
            WHERE account_id = \(account) AND id = \(id)
            """, logger: logger)
    }

    /// Whether a listener or rule forwards to the group.
    public func inUse(_ conn: PostgresConnection, targetGroupId: String) async throws -> Bool {
        try await !column("SELECT 'x' FROM forwards WHERE target_group_id = \(targetGroupId) LIMIT 1", conn).isEmpty
    }

    public func deleteTargetGroup(_ conn: PostgresConnection, account: String, id: String) async throws {
        try await conn.query("DELETE FROM target_groups WHERE account_id = \(account) AND id = \(id)", logger: logger)
    }

    // MARK: listeners and rules

    static let listenerColumns = "l.id, l.load_balancer_id, b.name, l.protocol, l.port, l.default_actions::text, l.tags::text, l.account_id"

    func listeners(_ query: PostgresQuery, _ conn: PostgresConnection) async throws -> [ListenerRow] {
        var out: [ListenerRow] = []
        for try await r in try await conn.query(query, logger: logger).decode((String, String, String, String, Int, String, String, String).self) {
            out.append(ListenerRow(id: r.0, loadBalancerId: r.1, loadBalancerName: r.2, protocolName: r.3, port: r.4,
                                   defaultActions: Self.decoded([ELB.Action].self, r.5) ?? [], tags: Self.decoded([Tag].self, r.6) ?? [], account: r.7))
        }
        return out
    }

    public func listeners(_ conn: PostgresConnection, account: String, loadBalancerId: String? = nil, ids: [String]? = nil) async throws -> [ListenerRow] {
        try await listeners("""
            SELECT \(unescaped: Self.listenerColumns) FROM listeners l JOIN load_balancers b ON b.id = l.load_balancer_id
            WHERE l.account_id = \(account) AND (\(loadBalancerId)::text IS NULL OR l.load_balancer_id = \(loadBalancerId))
              AND (\(ids)::text[] IS NULL OR l.id = ANY(\(ids)::text[]))
            ORDER BY l.port
            """, conn)
    }

    public func allListeners(_ conn: PostgresConnection) async throws -> [ListenerRow] {
        try await listeners("""
            SELECT \(unescaped: Self.listenerColumns) FROM listeners l JOIN load_balancers b ON b.id = l.load_balancer_id ORDER BY l.id
            """, conn)
    }

    /// Inserts a listener; false when its load balancer already listens on the port.
    public func createListener(_ conn: PostgresConnection, account: String, id: String, loadBalancerId: String, protocolName: String, port: Int,
                               actions: [ELB.Action], tags: [Tag]) async throws -> Bool {
        let inserted = try await column("""
            INSERT INTO listeners (account_id, id, load_balancer_id, protocol, port, default_actions, tags)
            VALUES (\(account), \(id), \(loadBalancerId), \(protocolName), \(port), \(try Self.json(actions))::jsonb, \(try Self.json(tags))::jsonb)
            ON CONFLICT (load_balancer_id, port) DO NOTHING RETURNING id
            """, conn)
        guard !inserted.isEmpty else { return false }
        try await setForwards(conn, listenerId: id, ruleId: nil, actions: actions)
        return true
    }

    /// Changes a listener's port, protocol or default actions; false when the new port is taken.
    public func modifyListener(_ conn: PostgresConnection, account: String, id: String, port: Int, protocolName: String,
                               actions: [ELB.Action]) async throws -> Bool {
        do {
            try await conn.query("""
                UPDATE listeners SET port = \(port), protocol = \(protocolName), default_actions = \(try Self.json(actions))::jsonb
                WHERE account_id = \(account) AND id = \(id)
                """, logger: logger)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            return false
        }
        try await setForwards(conn, listenerId: id, ruleId: nil, actions: actions)
        return true
    }

    public func deleteListener(_ conn: PostgresConnection, account: String, id: String) async throws {
        try await conn.query("DELETE FROM listeners WHERE account_id = \(account) AND id = \(id)", logger: logger)
    }

    func setForwards(_ conn: PostgresConnection, listenerId: String, ruleId: String?, actions: [ELB.Action]) async throws {
        try await conn.query("""
            DELETE FROM forwards WHERE listener_id = \(listenerId) AND rule_id IS NOT DISTINCT FROM \(ruleId)
            """, logger: logger)
        let groups = Array(Set(actions.flatMap { $0.targetGroups.map(\.targetGroupArn) }.compactMap(Self.id(ofTargetGroup:))))
        guard !groups.isEmpty else { return }
        try await conn.query("""
            INSERT INTO forwards (listener_id, rule_id, target_group_id) SELECT \(listenerId), \(ruleId), unnest(\(groups)::text[])
            """, logger: logger)
    }

    /// The id at the end of a target group ARN (`…:targetgroup/<name>/<id>`).
    public static func id(ofTargetGroup arn: String) -> String? {
        guard let a = ARN(arn) else { return nil }
        let parts = a.resource.split(separator: "/")
        guard parts.count == 3, parts[0] == "targetgroup" else { return nil }
        return String(parts[2])
    }

    static let ruleColumns = "id, listener_id, priority, conditions::text, actions::text, tags::text"

    func rules(_ query: PostgresQuery, _ conn: PostgresConnection) async throws -> [RuleRow] {
        var out: [RuleRow] = []
        for try await r in try await conn.query(query, logger: logger).decode((String, String, Int, String, String, String).self) {
            out.append(RuleRow(id: r.0, listenerId: r.1, priority: r.2, conditions: Self.decoded([ELB.Condition].self, r.3) ?? [],
                               actions: Self.decoded([ELB.Action].self, r.4) ?? [], tags: Self.decoded([Tag].self, r.5) ?? []))
        }
        return out
    }

    public func rules(_ conn: PostgresConnection, account: String, listenerId: String? = nil, ids: [String]? = nil) async throws -> [RuleRow] {
        try await rules("""
            SELECT \(unescaped: Self.ruleColumns) FROM listener_rules
            WHERE account_id = \(account) AND (\(listenerId)::text IS NULL OR listener_id = \(listenerId))
              AND (\(ids)::text[] IS NULL OR id = ANY(\(ids)::text[]))
            ORDER BY listener_id, priority
            """, conn)
    }

    public func allRules(_ conn: PostgresConnection) async throws -> [RuleRow] {
        try await rules("SELECT \(unescaped: Self.ruleColumns) FROM listener_rules ORDER BY listener_id, priority", conn)
    }

    /// Inserts a rule; false when its listener already has a rule of that priority.
    public func createRule(_ conn: PostgresConnection, account: String, id: String, listenerId: String, priority: Int,
                           conditions: [ELB.Condition], actions: [ELB.Action], tags: [Tag]) async throws -> Bool {
        let taken = try await column("""
            SELECT id FROM listener_rules WHERE listener_id = \(listenerId) AND priority = \(priority)
            """, conn)
        guard taken.isEmpty else { return false }
        try await conn.query("""
            INSERT INTO listener_rules (account_id, id, listener_id, priority, conditions, actions, tags)
            VALUES (\(account), \(id), \(listenerId), \(priority), \(try Self.json(conditions))::jsonb, \(try Self.json(actions))::jsonb,
                    \(try Self.json(tags))::jsonb)
            """, logger: logger)
        try await setForwards(conn, listenerId: listenerId, ruleId: id, actions: actions)
        return true
    }

    public func modifyRule(_ conn: PostgresConnection, account: String, rule: RuleRow) async throws {
        try await conn.query("""
            UPDATE listener_rules SET conditions = \(try Self.json(rule.conditions))::jsonb, actions = \(try Self.json(rule.actions))::jsonb
            WHERE account_id = \(account) AND id = \(rule.id)
            """, logger: logger)
        try await setForwards(conn, listenerId: rule.listenerId, ruleId: rule.id, actions: rule.actions)
    }

    /// Sets priorities (the uniqueness check is deferred to commit, so priorities can be swapped); false when two
    /// rules of a listener would share one.
    public func setPriorities(_ conn: PostgresConnection, account: String, priorities: [String: Int]) async throws -> Bool {
        for (id, priority) in priorities.sorted(by: { $0.key < $1.key }) {
            try await conn.query("UPDATE listener_rules SET priority = \(priority) WHERE account_id = \(account) AND id = \(id)", logger: logger)
        }
        let clashes = try await column("""
            SELECT listener_id FROM listener_rules WHERE account_id = \(account)
              AND listener_id IN (SELECT listener_id FROM listener_rules WHERE id = ANY(\(Array(priorities.keys))::text[]))
            GROUP BY listener_id, priority HAVING count(*) > 1
            """, conn)
        return clashes.isEmpty
    }

    public func deleteRule(_ conn: PostgresConnection, account: String, id: String) async throws {
        try await conn.query("DELETE FROM listener_rules WHERE account_id = \(account) AND id = \(id)", logger: logger)
    }

    /// Replaces the tags of one ELB resource (by table and id).
    public func setTags(_ conn: PostgresConnection, account: String, table: ELBTable, id: String, tags: [Tag]) async throws {
        try await conn.query("""
            UPDATE \(unescaped: table.rawValue) SET tags = \(try Self.json(tags))::jsonb WHERE account_id = \(account) AND id = \(id)
            """, logger: logger)
    }

    // MARK: targets

    static let targetColumns = """
        target_group_id, target_id, port, availability_zone, address, state, reason, description, registered_at, draining_until, task_id
        """

    func targets(_ query: PostgresQuery, _ conn: PostgresConnection) async throws -> [TargetRow] {
        var out: [TargetRow] = []
        for try await r in try await conn.query(query, logger: logger)
            .decode((String, String, Int, String?, String, String, String?, String?, Date, Date?, String?).self)
        {
            out.append(TargetRow(targetGroupId: r.0, targetId: r.1, port: r.2, availabilityZone: r.3, address: r.4,
                                 state: ELB.TargetState(rawValue: r.5) ?? .unavailable, reason: r.6, description: r.7, registeredAt: r.8,
                                 drainingUntil: r.9, taskId: r.10))
        }
        return out
    }

    public func targets(_ conn: PostgresConnection, targetGroupId: String) async throws -> [TargetRow] {
        try await targets("SELECT \(unescaped: Self.targetColumns) FROM targets WHERE target_group_id = \(targetGroupId) ORDER BY target_id, port", conn)
    }

    /// The targets ECS tasks registered (a service's, by task id).
    public func targets(_ conn: PostgresConnection, taskIds: [String]) async throws -> [TargetRow] {
        try await targets("SELECT \(unescaped: Self.targetColumns) FROM targets WHERE task_id = ANY(\(taskIds)::text[]) ORDER BY target_group_id, target_id", conn)
    }

    /// The services whose tasks these are: their reconcile runs when the load balancer's view of them changes.
    public func services(_ conn: PostgresConnection, taskIds: [String]) async throws -> [(account: String, cluster: String, service: String)] {
        var out: [(account: String, cluster: String, service: String)] = []
        let rows = try await conn.query("""
            SELECT DISTINCT account_id, cluster_name, service_name FROM tasks
            WHERE task_id = ANY(\(taskIds)::text[]) AND service_name IS NOT NULL
            """, logger: logger)
        for try await row in rows.decode((String, String, String).self) { out.append(row) }
        return out
    }

    public func allTargets(_ conn: PostgresConnection) async throws -> [TargetRow] {
        try await targets("SELECT \(unescaped: Self.targetColumns) FROM targets ORDER BY target_group_id, target_id, port", conn)
    }

    /// Registers targets: a new one starts `initial`; one already registered stays as it is, unless it was
    /// draining, which registering again cancels.
    public func register(_ conn: PostgresConnection, account: String, _ rows: [TargetRow]) async throws {
        for t in rows {
            try await conn.query("""
                INSERT INTO targets (account_id, \(unescaped: Self.targetColumns))
                VALUES (\(account), \(t.targetGroupId), \(t.targetId), \(t.port), \(t.availabilityZone), \(t.address), 'initial',
                        'Elb.RegistrationInProgress', 'Target registration is in progress', \(t.registeredAt), NULL, \(t.taskId))
                ON CONFLICT (target_group_id, target_id, port) DO UPDATE
                   SET state = CASE WHEN targets.state = 'draining' THEN 'initial' ELSE targets.state END,
                       reason = CASE WHEN targets.state = 'draining' THEN 'Elb.RegistrationInProgress' ELSE targets.reason END,
                       description = CASE WHEN targets.state = 'draining' THEN 'Target registration is in progress' ELSE targets.description END,
                       draining_until = NULL, address = EXCLUDED.address, task_id = COALESCE(EXCLUDED.task_id, targets.task_id)
                """, logger: logger)
        }
    }

    /// Starts draining targets: routing to them ends now; they are forgotten at `until` (now plus the group's delay).
    public func deregister(_ conn: PostgresConnection, targetGroupId: String, targets: [(id: String, port: Int)], until: Date) async throws {
        for t in targets {
            try await conn.query("""
                UPDATE targets SET state = 'draining', reason = 'Target.DeregistrationInProgress',
                       description = 'Target deregistration is in progress', draining_until = LEAST(COALESCE(draining_until, \(until)), \(until))
                WHERE target_group_id = \(targetGroupId) AND target_id = \(t.id) AND port = \(t.port)
                """, logger: logger)
        }
    }

    /// Drops targets whose draining ended; returns how many.
    @discardableResult
    public func purgeDrained(_ conn: PostgresConnection, now: Date) async throws -> Int {
        try await column("DELETE FROM targets WHERE draining_until <= \(now) RETURNING target_id", conn).count
    }

    /// Writes the health `stowage lb` saw; draining targets keep their state.
    public func setHealth(_ conn: PostgresConnection, targetGroupId: String, targetId: String, port: Int, state: ELB.TargetState,
                          reason: String?, description: String?) async throws {
        try await conn.query("""
            UPDATE targets SET state = \(state.rawValue), reason = \(reason), description = \(description)
            WHERE target_group_id = \(targetGroupId) AND target_id = \(targetId) AND port = \(port) AND state <> 'draining'
              AND (state <> \(state.rawValue) OR reason IS DISTINCT FROM \(reason))
            """, logger: logger)
    }
}

/// The ELBv2 tables that carry tags.
public enum ELBTable: String, Sendable {
    case loadBalancers = "load_balancers", targetGroups = "target_groups", listeners, rules = "listener_rules"
}

import Foundation
import Logging
import PostgresNIO
import StowageModel

/// Scalable targets, their policies and scheduled actions, and the activity log of what scaling did.
public struct ScalingStore: Sendable {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    public struct Target: Sendable {
        public var account: String
        public var resourceId: String
        public var dimension: String
        public var cluster: String
        public var service: String
        public var minCapacity: Int
        public var maxCapacity: Int
        public var suspended: AutoScaling.SuspendedState
        public var createdAt: Date
        public init(account: String, resourceId: String, dimension: String, cluster: String, service: String, minCapacity: Int,
                    maxCapacity: Int, suspended: AutoScaling.SuspendedState, createdAt: Date) {
            self.account = account; self.resourceId = resourceId; self.dimension = dimension; self.cluster = cluster
            self.service = service; self.minCapacity = minCapacity; self.maxCapacity = maxCapacity; self.suspended = suspended
            self.createdAt = createdAt
        }
    }

    public struct Policy: Sendable {
        public var account: String
        public var resourceId: String
        public var dimension: String
        public var name: String
        public var type: String
        public var request: AutoScaling.PutScalingPolicyRequest
        public var createdAt: Date
        public var lastScaleOut: Date?
        public var lastScaleIn: Date?
    }

    public struct Scheduled: Sendable {
        public var account: String
        public var resourceId: String
        public var dimension: String
        public var name: String
        public var schedule: String
        public var start: Date?
        public var end: Date?
        public var minCapacity: Int?
        public var maxCapacity: Int?
        public var createdAt: Date
        public var lastFired: Date?
        public init(account: String, resourceId: String, dimension: String, name: String, schedule: String, start: Date?, end: Date?,
                    minCapacity: Int?, maxCapacity: Int?, createdAt: Date, lastFired: Date?) {
            self.account = account; self.resourceId = resourceId; self.dimension = dimension; self.name = name
            self.schedule = schedule; self.start = start; self.end = end; self.minCapacity = minCapacity
            self.maxCapacity = maxCapacity; self.createdAt = createdAt; self.lastFired = lastFired
        }
    }

    public func upsertTarget(_ conn: PostgresConnection, _ t: Target) async throws {
        let suspended = try ECSJSON.encodeString(t.suspended)
        try await conn.query("""
            INSERT INTO scalable_targets (account_id, resource_id, scalable_dimension, cluster_name, service_name, min_capacity,
                                          max_capacity, suspended_state)
            VALUES (\(t.account), \(t.resourceId), \(t.dimension), \(t.cluster), \(t.service), \(t.minCapacity), \(t.maxCapacity),
                    \(suspended)::jsonb)
            ON CONFLICT (account_id, resource_id, scalable_dimension) DO UPDATE SET min_capacity = EXCLUDED.min_capacity,
                max_capacity = EXCLUDED.max_capacity, suspended_state = EXCLUDED.suspended_state
            """, logger: logger)
    }

    /// Targets of one account (or all accounts, for the worker), optionally by resource id.
    public func targets(_ conn: PostgresConnection, account: String?, resourceIds: [String]?, lock: Bool = false) async throws -> [Target] {
        let rows = try await conn.query("""
            SELECT account_id, resource_id, scalable_dimension, cluster_name, service_name, min_capacity, max_capacity,
                   suspended_state::text, created_at
            FROM scalable_targets
            WHERE (\(account)::text IS NULL OR account_id = \(account))
              AND (\(resourceIds ?? [])::text[] = '{}' OR resource_id = ANY(\(resourceIds ?? [])::text[]))
            ORDER BY account_id, resource_id \(unescaped: lock ? "FOR UPDATE" : "")
            """, logger: logger)
        var out: [Target] = []
        for try await (a, r, d, c, s, lo, hi, sus, created) in rows.decode((String, String, String, String, String, Int, Int, String, Date).self) {
            out.append(Target(account: a, resourceId: r, dimension: d, cluster: c, service: s, minCapacity: lo, maxCapacity: hi,
                              suspended: (try? ECSJSON.decode(AutoScaling.SuspendedState.self, from: sus)) ?? AutoScaling.SuspendedState(),
                              createdAt: created))
        }
        return out
    }

    public func deleteTarget(_ conn: PostgresConnection, account: String, resourceId: String, dimension: String) async throws -> Bool {
        return try await conn.first("""
            DELETE FROM scalable_targets WHERE account_id = \(account) AND resource_id = \(resourceId) AND scalable_dimension = \(dimension)
            RETURNING 1
            """, as: Int.self, logger: logger) != nil
    }

    public func upsertPolicy(_ conn: PostgresConnection, account: String, _ request: AutoScaling.PutScalingPolicyRequest, type: String) async throws {
        let json = try ECSJSON.encodeString(request)
        try await conn.query("""
            INSERT INTO scaling_policies (account_id, resource_id, scalable_dimension, policy_name, policy_type, configuration)
            VALUES (\(account), \(request.resourceId), \(request.scalableDimension), \(request.policyName), \(type), \(json)::jsonb)
            ON CONFLICT (account_id, resource_id, scalable_dimension, policy_name) DO UPDATE SET
                policy_type = EXCLUDED.policy_type, configuration = EXCLUDED.configuration
            """, logger: logger)
    }

    public func policies(_ conn: PostgresConnection, account: String?, resourceId: String?, names: [String]?) async throws -> [Policy] {
        let rows = try await conn.query("""
            SELECT account_id, resource_id, scalable_dimension, policy_name, policy_type, configuration::text, created_at,
                   last_scale_out_at, last_scale_in_at
            FROM scaling_policies
            WHERE (\(account)::text IS NULL OR account_id = \(account)) AND (\(resourceId)::text IS NULL OR resource_id = \(resourceId))
              AND (\(names ?? [])::text[] = '{}' OR policy_name = ANY(\(names ?? [])::text[]))
            ORDER BY account_id, resource_id, policy_name
            """, logger: logger)
        var out: [Policy] = []
        for try await (a, r, d, n, t, json, created, out_, in_) in rows.decode((String, String, String, String, String, String, Date, Date?, Date?).self) {
            let request = try ECSJSON.decode(AutoScaling.PutScalingPolicyRequest.self, from: json)
            out.append(Policy(account: a, resourceId: r, dimension: d, name: n, type: t, request: request, createdAt: created,
                              lastScaleOut: out_, lastScaleIn: in_))
        }
        return out
    }

    public func deletePolicy(_ conn: PostgresConnection, account: String, resourceId: String, dimension: String, name: String) async throws -> Bool {
        return try await conn.first("""
            DELETE FROM scaling_policies WHERE account_id = \(account) AND resource_id = \(resourceId)
              AND scalable_dimension = \(dimension) AND policy_name = \(name) RETURNING 1
            """, as: Int.self, logger: logger) != nil
    }

    public func markScaled(_ conn: PostgresConnection, account: String, resourceId: String, policy: String, out: Bool) async throws {
        try await conn.query("""
            UPDATE scaling_policies SET last_scale_out_at = CASE WHEN \(out) THEN now() ELSE last_scale_out_at END,
                   last_scale_in_at = CASE WHEN \(out) THEN last_scale_in_at ELSE now() END
            WHERE account_id = \(account) AND resource_id = \(resourceId) AND policy_name = \(policy)
            """, logger: logger)
    }

    public func upsertScheduled(_ conn: PostgresConnection, _ s: Scheduled) async throws {
        try await conn.query("""
            INSERT INTO scheduled_actions (account_id, resource_id, scalable_dimension, action_name, schedule, start_time, end_time,
                                           min_capacity, max_capacity)
            VALUES (\(s.account), \(s.resourceId), \(s.dimension), \(s.name), \(s.schedule), \(s.start), \(s.end), \(s.minCapacity),
                    \(s.maxCapacity))
            ON CONFLICT (account_id, resource_id, scalable_dimension, action_name) DO UPDATE SET schedule = EXCLUDED.schedule,
                start_time = EXCLUDED.start_time, end_time = EXCLUDED.end_time, min_capacity = EXCLUDED.min_capacity,
                max_capacity = EXCLUDED.max_capacity, last_fired_at = NULL, created_at = now()
            """, logger: logger)
    }

    public func scheduled(_ conn: PostgresConnection, account: String?, resourceId: String?, names: [String]?) async throws -> [Scheduled] {
        let rows = try await conn.query("""
            SELECT account_id, resource_id, scalable_dimension, action_name, schedule, start_time, end_time, min_capacity,
                   max_capacity, created_at, last_fired_at
            FROM scheduled_actions
            WHERE (\(account)::text IS NULL OR account_id = \(account)) AND (\(resourceId)::text IS NULL OR resource_id = \(resourceId))
              AND (\(names ?? [])::text[] = '{}' OR action_name = ANY(\(names ?? [])::text[]))
            ORDER BY account_id, resource_id, action_name
            """, logger: logger)
        var out: [Scheduled] = []
        for try await (a, r, d, n, sch, st, en, lo, hi, created, fired) in rows.decode(
            (String, String, String, String, String, Date?, Date?, Int?, Int?, Date, Date?).self)
        {
            out.append(Scheduled(account: a, resourceId: r, dimension: d, name: n, schedule: sch, start: st, end: en, minCapacity: lo,
                                 maxCapacity: hi, createdAt: created, lastFired: fired))
        }
        return out
    }

    public func deleteScheduled(_ conn: PostgresConnection, account: String, resourceId: String, dimension: String, name: String) async throws -> Bool {
        return try await conn.first("""
            DELETE FROM scheduled_actions WHERE account_id = \(account) AND resource_id = \(resourceId)
              AND scalable_dimension = \(dimension) AND action_name = \(name) RETURNING 1
            """, as: Int.self, logger: logger) != nil
    }

    public func markFired(_ conn: PostgresConnection, _ s: Scheduled, at: Date) async throws {
        try await conn.query("""
            UPDATE scheduled_actions SET last_fired_at = \(at)
            WHERE account_id = \(s.account) AND resource_id = \(s.resourceId) AND action_name = \(s.name)
            """, logger: logger)
    }

    /// Sets a service's desired count for a scaling reason: the service event, the activity, and a reconcile, in
    /// the caller's transaction. Returns the previous count (nil when the service is gone).
    @discardableResult
    public func setCapacity(_ conn: PostgresConnection, target: Target, to capacity: Int, description: String, cause: String) async throws -> Int? {
        let previous = try await conn.first("""
            UPDATE services s SET desired_count = \(capacity), version = s.version + 1, updated_at = now()
            FROM (SELECT desired_count FROM services WHERE account_id = \(target.account) AND cluster_name = \(target.cluster)
                  AND service_name = \(target.service) AND status = 'ACTIVE' FOR UPDATE) old
            WHERE s.account_id = \(target.account) AND s.cluster_name = \(target.cluster) AND s.service_name = \(target.service)
            RETURNING old.desired_count
            """, as: Int.self, logger: logger)
        guard let previous else { return nil }
        try await ServiceStore(logger: logger).addEvents(conn, account: target.account, cluster: target.cluster, service: target.service, [
            "(service \(target.service)) auto scaling set the desired count from \(previous) to \(capacity): \(cause)",
        ])
        try await activity(conn, account: target.account, resourceId: target.resourceId, dimension: target.dimension,
                           description: description, cause: cause, status: "Successful",
                           message: "Successfully set desired count to \(capacity). Change successfully fulfilled by ecs.")
        try await JobQueue(logger: logger).reconcile(conn, account: target.account, cluster: target.cluster, service: target.service)
        return previous
    }

    public func activity(_ conn: PostgresConnection, account: String, resourceId: String, dimension: String, description: String,
                         cause: String, status: String, message: String?) async throws {
        try await conn.query("""
            INSERT INTO scaling_activities (account_id, resource_id, activity_id, scalable_dimension, description, cause, status_code,
                                            status_message, end_time)
            VALUES (\(account), \(resourceId), \(UUID().uuidString.lowercased()), \(dimension), \(description), \(cause), \(status),
                    \(message), clock_timestamp())
            """, logger: logger)
    }

    public func activities(_ conn: PostgresConnection, account: String, resourceId: String?, before: Date?, limit: Int) async throws
        -> [AutoScaling.ScalingActivity]
    {
        let rows = try await conn.query("""
            SELECT activity_id, resource_id, scalable_dimension, description, cause, start_time, end_time, status_code, status_message
            FROM scaling_activities
            WHERE account_id = \(account) AND (\(resourceId)::text IS NULL OR resource_id = \(resourceId))
              AND (\(before)::timestamptz IS NULL OR start_time < \(before))
            ORDER BY start_time DESC LIMIT \(limit)
            """, logger: logger)
        var out: [AutoScaling.ScalingActivity] = []
        for try await (id, r, d, desc, cause, st, en, code, msg) in rows.decode(
            (String, String, String, String, String, Date, Date?, String, String?).self)
        {
            out.append(AutoScaling.ScalingActivity(activityId: id, resourceId: r, scalableDimension: d, description: desc, cause: cause,
                                                   startTime: st, endTime: en, statusCode: code, statusMessage: msg))
        }
        return out
    }
}

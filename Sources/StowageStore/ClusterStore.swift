import Foundation
import Logging
import PostgresNIO
import StowageModel

/// A cluster row with the counts ECS reports beside it.
public struct ClusterRow: Sendable, Equatable {
    public var name: String
    public var status: String
    public var settings: [ClusterSetting]
    public var configuration: JSONValue?
    public var tags: [Tag]
    public var registeredInstances: Int
    public var runningTasks: Int
    public var pendingTasks: Int
    public var activeServices: Int
}

public struct ClusterStore: Sendable {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    /// Serializes scheduling within one cluster until the transaction ends; clusters schedule in parallel.
    public func lockScheduling(_ conn: PostgresConnection, account: String, cluster: String) async throws {
        try await conn.query("SELECT pg_advisory_xact_lock(hashtextextended(\(account + "/" + cluster), 7))", logger: logger)
    }

    static let selectColumns = """
        SELECT c.cluster_name, c.status, c.settings::text, c.configuration::text, c.tags::text,
               (SELECT count(*) FROM container_instances ci
                 WHERE ci.account_id = c.account_id AND ci.cluster_name = c.cluster_name
                   AND ci.status IN ('ACTIVE', 'DRAINING')),
               (SELECT count(*) FROM tasks t
                 WHERE t.account_id = c.account_id AND t.cluster_name = c.cluster_name AND t.last_status = 'RUNNING'),
               (SELECT count(*) FROM tasks t
                 WHERE t.account_id = c.account_id AND t.cluster_name = c.cluster_name
                   AND t.last_status IN ('PROVISIONING', 'PENDING', 'ACTIVATING')),
               (SELECT count(*) FROM services s
                 WHERE s.account_id = c.account_id AND s.cluster_name = c.cluster_name AND s.status = 'ACTIVE')
        FROM clusters c
        """

    /// Creates the cluster, or returns it unchanged when it is already ACTIVE (CreateCluster is idempotent on name);
    /// an INACTIVE cluster of that name comes back to life with the new settings.
    public func create(_ conn: PostgresConnection, account: String, name: String, settings: [ClusterSetting],
                       configuration: JSONValue?, tags: [Tag]) async throws -> ClusterRow {
        let settingsJSON = try ECSJSON.encodeString(settings)
        let configJSON = try configuration.map { try ECSJSON.encodeString($0) }
        let tagsJSON = try ECSJSON.encodeString(tags)
        try await conn.query("""
            INSERT INTO clusters (account_id, cluster_name, settings, configuration, tags)
            VALUES (\(account), \(name), \(settingsJSON)::jsonb, \(configJSON)::jsonb, \(tagsJSON)::jsonb)
            ON CONFLICT (account_id, cluster_name) DO UPDATE
               SET status = 'ACTIVE', settings = EXCLUDED.settings, configuration = EXCLUDED.configuration,
                   tags = EXCLUDED.tags, updated_at = now(), version = clusters.version + 1
             WHERE clusters.status = 'INACTIVE'
            """, logger: logger)
        guard let record = try await get(conn, account: account, names: [name]).first else {
            throw DatabaseConfigError(message: "cluster \(name) vanished after insert")
        }
        return record
    }

    /// DescribeClusters' read, as a named prepared statement: PostgreSQL then keeps its plan, which costs
    /// several times more to make than the query does to run.
    struct Lookup: PostgresPreparedStatement {
        typealias Row = (String, String, String, String?, String, Int, Int, Int, Int)
        static let sql = ClusterStore.selectColumns + " WHERE c.account_id = $1 AND c.cluster_name = ANY($2)"
        var account: String
        var names: [String]

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 2)
            bindings.append(account)
            bindings.append(names)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// The named clusters that exist (ACTIVE or INACTIVE), in no particular order.
    public func get(_ conn: PostgresConnection, account: String, names: [String], forUpdate: Bool = false) async throws
        -> [ClusterRow]
    {
        guard forUpdate else {
            var result: [ClusterRow] = []
            for try await row in try await conn.execute(Lookup(account: account, names: names), logger: logger) {
                result.append(try Self.record(row))
            }
            return result
        }
        return try await records(conn.query("""
            \(unescaped: Self.selectColumns)
            WHERE c.account_id = \(account) AND c.cluster_name = ANY(\(names)) FOR UPDATE OF c
            """, logger: logger))
    }

    /// Whether the cluster exists and is ACTIVE, reading its row only (no counts): the check every poll and
    /// report makes, so it must not cost O(tasks in the cluster). With `share`, the row is locked FOR SHARE until
    /// the transaction ends: DeleteCluster (FOR UPDATE) waits for it, while registrations into one cluster still
    /// run side by side (a fleet registering at once must not queue on one row).
    public func isActive(_ conn: PostgresConnection, account: String, name: String, share: Bool = false) async throws -> Bool {
        let status = share
            ? try await conn.first("SELECT status FROM clusters WHERE account_id = \(account) AND cluster_name = \(name) FOR SHARE",
                                   as: String.self, logger: logger)
            : try await conn.first("SELECT status FROM clusters WHERE account_id = \(account) AND cluster_name = \(name)",
                                   as: String.self, logger: logger)
        return status == "ACTIVE"
    }

    /// ACTIVE clusters ordered by name, starting after `after`.
    public func list(_ conn: PostgresConnection, account: String, after: String?, limit: Int) async throws -> [ClusterRow] {
        try await records(conn.query("""
            \(unescaped: Self.selectColumns)
            WHERE c.account_id = \(account) AND c.status = 'ACTIVE' AND c.cluster_name > \(after ?? "")
            ORDER BY c.cluster_name LIMIT \(limit)
            """, logger: logger))
    }

    public func update(_ conn: PostgresConnection, account: String, name: String, settings: [ClusterSetting]?,
                       configuration: JSONValue?) async throws {
        let settingsJSON = try settings.map { try ECSJSON.encodeString($0) }
        let configJSON = try configuration.map { try ECSJSON.encodeString($0) }
        try await conn.query("""
            UPDATE clusters SET settings = COALESCE(\(settingsJSON)::jsonb, settings),
                   configuration = COALESCE(\(configJSON)::jsonb, configuration),
                   updated_at = now(), version = version + 1
            WHERE account_id = \(account) AND cluster_name = \(name)
            """, logger: logger)
    }

    /// Active clusters of the account other than `excluding`, for the clusters quota.
    public func activeCount(_ conn: PostgresConnection, account: String, excluding name: String) async throws -> Int {
        try await conn.first("""
            SELECT count(*)::bigint FROM clusters WHERE account_id = \(account) AND status = 'ACTIVE' AND cluster_name <> \(name)
            """, as: Int.self, logger: logger) ?? 0
    }

    public func setTags(_ conn: PostgresConnection, account: String, name: String, tags: [Tag]) async throws {
        let tagsJSON = try ECSJSON.encodeString(tags)
        try await conn.query("""
            UPDATE clusters SET tags = \(tagsJSON)::jsonb, updated_at = now(), version = version + 1
            WHERE account_id = \(account) AND cluster_name = \(name)
            """, logger: logger)
    }

    public func markInactive(_ conn: PostgresConnection, account: String, name: String) async throws {
        try await conn.query("""
            UPDATE clusters SET status = 'INACTIVE', updated_at = now(), version = version + 1
            WHERE account_id = \(account) AND cluster_name = \(name)
            """, logger: logger)
    }

    private func records(_ rows: PostgresRowSequence) async throws -> [ClusterRow] {
        var result: [ClusterRow] = []
        for try await row in rows.decode(Lookup.Row.self) { result.append(try Self.record(row)) }
        return result
    }

    static func record(_ row: Lookup.Row) throws -> ClusterRow {
        let (name, status, settings, configuration, tags, count, running, pending, services) = row
        return ClusterRow(
            name: name, status: status,
            settings: try ECSJSON.decode([ClusterSetting].self, from: settings),
            configuration: try configuration.map { try ECSJSON.decode(JSONValue.self, from: $0) },
            tags: try ECSJSON.decode([Tag].self, from: tags),
            registeredInstances: count, runningTasks: running, pendingTasks: pending, activeServices: services)
    }
}

extension ClusterStore {
    /// What the control plane decided about the cluster as a whole (mass silence, rate-limited host loss).
    public func addEvents(_ conn: PostgresConnection, account: String, cluster: String, _ messages: [String]) async throws {
        for message in messages {
            try await conn.query("""
                INSERT INTO cluster_events (account_id, cluster_name, event_id, message)
                VALUES (\(account), \(cluster), \(UUID().uuidString.lowercased()), \(message))
                """, logger: logger)
        }
    }

    /// The latest cluster events, newest first.
    public func events(_ conn: PostgresConnection, account: String, cluster: String, limit: Int = 100) async throws -> [ServiceEvent] {
        let rows = try await conn.query("""
            SELECT event_id, created_at, message FROM cluster_events
            WHERE account_id = \(account) AND cluster_name = \(cluster)
            ORDER BY created_at DESC LIMIT \(limit)
            """, logger: logger)
        var result: [ServiceEvent] = []
        for try await (id, at, message) in rows.decode((String, Date, String).self) {
            result.append(ServiceEvent(id: id, createdAt: at, message: message))
        }
        return result
    }
}

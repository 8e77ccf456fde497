import Foundation
import Logging
import PostgresNIO
import StowageModel

public struct ContainerInstanceRow: Sendable, Equatable {
    public var cluster: String
    public var id: String
    public var ec2InstanceId: String
    public var status: String
    public var statusReason: String?
    public var agentConnected: Bool
    public var registeredResources: [Resource]
    public var remainingResources: [Resource]
    public var attributes: [Attribute]
    public var versionInfo: VersionInfo?
    public var tags: [Tag]
    public var registeredAt: Date
    public var version: Int

    public init(cluster: String, id: String, ec2InstanceId: String, status: String = "ACTIVE",
                registeredResources: [Resource], attributes: [Attribute], versionInfo: VersionInfo?, tags: [Tag]) {
        self.cluster = cluster; self.id = id; self.ec2InstanceId = ec2InstanceId; self.status = status
        self.statusReason = nil; self.agentConnected = true; self.registeredResources = registeredResources
        self.remainingResources = registeredResources; self.attributes = attributes; self.versionInfo = versionInfo
        self.tags = tags; self.registeredAt = Date(timeIntervalSince1970: 0); self.version = 1
    }
}

public struct ContainerInstanceStore: Sendable {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    /// The NOTIFY channel agents' long polls listen on; the payload is `instanceKey`.
    public static let channel = "stowage_instances"
    public static func instanceKey(account: String, cluster: String, instance: String) -> String { "\(account)/\(cluster)/\(instance)" }

    /// Wakes the long polls of agents whose desired task sets changed (delivered when the transaction commits).
    public func notifyChanged(_ conn: PostgresConnection, account: String, cluster: String, instances: Set<String>) async throws {
        for instance in instances.sorted() {
            try await conn.query("SELECT pg_notify(\(Self.channel), \(Self.instanceKey(account: account, cluster: cluster, instance: instance)))",
                                 logger: logger)
        }
    }

    static let selectColumns = """
        SELECT cluster_name, instance_id, ec2_instance_id, status, status_reason, agent_connected,
               registered_resources::text, remaining_resources::text, attributes::text, version_info::text,
               tags::text, registered_at, version
        FROM container_instances
        """

    public func insert(_ conn: PostgresConnection, account: String, _ r: ContainerInstanceRow) async throws {
        try await conn.query("""
            INSERT INTO container_instances (account_id, cluster_name, instance_id, ec2_instance_id, status,
                registered_resources, remaining_resources, attributes, version_info, tags)
            VALUES (\(account), \(r.cluster), \(r.id), \(r.ec2InstanceId), \(r.status),
                \(try ECSJSON.encodeString(r.registeredResources))::jsonb,
                \(try ECSJSON.encodeString(r.remainingResources))::jsonb,
                \(try ECSJSON.encodeString(r.attributes))::jsonb,
                \(try r.versionInfo.map { try ECSJSON.encodeString($0) })::jsonb,
                \(try ECSJSON.encodeString(r.tags))::jsonb)
            """, logger: logger)
    }

    /// Replaces what a re-registering agent reports, keeping the instance's identity.
    public func reregister(_ conn: PostgresConnection, account: String, _ r: ContainerInstanceRow) async throws {
        try await conn.query("""
            UPDATE container_instances
               SET registered_resources = \(try ECSJSON.encodeString(r.registeredResources))::jsonb,
                   remaining_resources = \(try ECSJSON.encodeString(r.remainingResources))::jsonb,
                   attributes = \(try ECSJSON.encodeString(r.attributes))::jsonb,
                   version_info = \(try r.versionInfo.map { try ECSJSON.encodeString($0) })::jsonb,
                   agent_connected = true, version = version + 1
            WHERE account_id = \(account) AND cluster_name = \(r.cluster) AND instance_id = \(r.id)
            """, logger: logger)
    }

    public func get(_ conn: PostgresConnection, account: String, cluster: String, ids: [String]) async throws
        -> [ContainerInstanceRow]
    {
        try await records(conn.query("""
            \(unescaped: Self.selectColumns)
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND instance_id = ANY(\(ids))
            """, logger: logger))
    }

    /// The live (not INACTIVE) instance registered for an EC2-style host id, if any.
    public func live(_ conn: PostgresConnection, account: String, cluster: String, ec2InstanceId: String) async throws
        -> ContainerInstanceRow?
    {
        try await records(conn.query("""
            \(unescaped: Self.selectColumns)
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND ec2_instance_id = \(ec2InstanceId)
              AND status <> 'INACTIVE'
            """, logger: logger)).first
    }

    /// The address a live instance's agent reported (its load balancer targets are reached there). Nil unless exactly
    /// one live instance of the account has the EC2 id: an id two clusters share names no one host.
    public func hostAddress(_ conn: PostgresConnection, account: String, ec2InstanceId: String) async throws -> String? {
        let rows = try await conn.query("""
            SELECT (SELECT a->>'value' FROM jsonb_array_elements(attributes) a WHERE a->>'name' = \(AgentProtocol.hostAddressAttribute) LIMIT 1)
            FROM container_instances
            WHERE account_id = \(account) AND ec2_instance_id = \(ec2InstanceId) AND status <> 'INACTIVE'
            LIMIT 2
            """, logger: logger)
        var found: [String?] = []
        for try await value in rows.decode(String?.self) { found.append(value) }
        return found.count == 1 ? found[0] : nil
    }

    /// The cluster where another live instance of the account holds this EC2 id, if one does.
    public func clusterHolding(_ conn: PostgresConnection, account: String, ec2InstanceId: String, except cluster: String) async throws -> String? {
        try await conn.first("""
            SELECT cluster_name FROM container_instances
            WHERE account_id = \(account) AND ec2_instance_id = \(ec2InstanceId) AND status <> 'INACTIVE' AND cluster_name <> \(cluster)
            LIMIT 1
            """, as: String.self, logger: logger)
    }

    /// Instance ids by id order; a nil status lists every instance that is not INACTIVE.
    public func list(_ conn: PostgresConnection, account: String, cluster: String, status: String?, after: String?,
                     limit: Int) async throws -> [String] {
        let rows = try await conn.query("""
            SELECT instance_id FROM container_instances
            WHERE account_id = \(account) AND cluster_name = \(cluster)
              AND (\(status)::text IS NULL AND status <> 'INACTIVE' OR status = \(status))
              AND instance_id > \(after ?? "")
            ORDER BY instance_id LIMIT \(limit)
            """, logger: logger)
        var result: [String] = []
        for try await id in rows.decode(String.self) { result.append(id) }
        return result
    }

    public func setStatus(_ conn: PostgresConnection, account: String, cluster: String, ids: [String], status: String)
        async throws
    {
        try await conn.query("""
            UPDATE container_instances SET status = \(status), version = version + 1
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND instance_id = ANY(\(ids))
            """, logger: logger)
    }

    public func setAttributes(_ conn: PostgresConnection, account: String, cluster: String, id: String,
                              attributes: [Attribute]) async throws {
        try await conn.query("""
            UPDATE container_instances SET attributes = \(try ECSJSON.encodeString(attributes))::jsonb,
                   version = version + 1
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND instance_id = \(id)
            """, logger: logger)
    }

    public func setTags(_ conn: PostgresConnection, account: String, cluster: String, id: String, tags: [Tag]) async throws {
        try await conn.query("""
            UPDATE container_instances SET tags = \(try ECSJSON.encodeString(tags))::jsonb, version = version + 1
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND instance_id = \(id)
            """, logger: logger)
    }

    /// Every live instance of a cluster, for attribute listing.
    public func all(_ conn: PostgresConnection, account: String, cluster: String) async throws -> [ContainerInstanceRow] {
        try await records(conn.query("""
            \(unescaped: Self.selectColumns)
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND status <> 'INACTIVE'
            ORDER BY instance_id
            """, logger: logger))
    }

    private func records(_ rows: PostgresRowSequence) async throws -> [ContainerInstanceRow] {
        var result: [ContainerInstanceRow] = []
        for try await row in rows {
            let (cluster, id, ec2, status, reason, connected, registered, remaining, attributes, version, tags, at, rowVersion) =
                try row.decode((String, String, String, String, String?, Bool, String, String, String, String?, String, Date, Int).self)
            var record = ContainerInstanceRow(
                cluster: cluster, id: id, ec2InstanceId: ec2, status: status,
                registeredResources: try ECSJSON.decode([Resource].self, from: registered),
                attributes: try ECSJSON.decode([Attribute].self, from: attributes),
                versionInfo: try version.map { try ECSJSON.decode(VersionInfo.self, from: $0) },
                tags: try ECSJSON.decode([Tag].self, from: tags))
            record.statusReason = reason
            record.agentConnected = connected
            record.remainingResources = try ECSJSON.decode([Resource].self, from: remaining)
            record.registeredAt = at
            record.version = rowVersion
            result.append(record)
        }
        return result
    }
}

extension ContainerInstanceStore {
    /// Records an agent report's sequence number; false when the report is not newer than the last one.
    /// The heartbeat is recorded apart (`heartbeat`), so polls never wait on a report's row lock.
    public func recordReport(_ conn: PostgresConnection, account: String, cluster: String, id: String, sequence: Int64) async throws -> Bool {
        try await conn.first("""
            UPDATE container_instances SET report_sequence = \(sequence)
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND instance_id = \(id) AND report_sequence < \(sequence)
            RETURNING 1
            """, as: Int.self, logger: logger) != nil
    }
}

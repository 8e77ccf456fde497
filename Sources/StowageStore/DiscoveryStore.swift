import Foundation
import Logging
import PostgresNIO
import StowageModel

/// A Cloud Map namespace as stored.
public struct NamespaceRow: Sendable, Equatable {
    public var account: String
    public var id: String
    public var name: String
    public var type: String
    public var description: String?
    public var creatorRequestId: String?
    public var soaTTL: Int?
    public var tags: [Tag]
    public var createdAt: Date
    public var serviceCount: Int
}

/// A Cloud Map service as stored.
public struct DiscoveryServiceRow: Sendable, Equatable {
    public var account: String
    public var id: String
    public var namespaceId: String
    public var name: String
    public var type: String
    public var description: String?
    public var creatorRequestId: String?
    public var dnsConfig: ServiceDiscovery.DnsConfig?
    public var customHealth: ServiceDiscovery.HealthCheckCustomConfig?
    public var tags: [Tag]
    public var revision: Int64
    public var createdAt: Date
    public var instanceCount: Int

    public init(account: String, id: String, namespaceId: String, name: String, type: String, description: String?, creatorRequestId: String?,
                dnsConfig: ServiceDiscovery.DnsConfig?, customHealth: ServiceDiscovery.HealthCheckCustomConfig?, tags: [Tag], revision: Int64,
                createdAt: Date, instanceCount: Int) {
        self.account = account; self.id = id; self.namespaceId = namespaceId; self.name = name; self.type = type
        self.description = description; self.creatorRequestId = creatorRequestId; self.dnsConfig = dnsConfig
        self.customHealth = customHealth; self.tags = tags; self.revision = revision; self.createdAt = createdAt; self.instanceCount = instanceCount
    }
}

/// A registered instance and the health Cloud Map answers for it.
public struct DiscoveryInstanceRow: Sendable, Equatable {
    public var serviceId: String
    public var instanceId: String
    public var attributes: [String: String]
    public var creatorRequestId: String?
    public var health: String
    public var taskId: String?

    public init(serviceId: String, instanceId: String, attributes: [String: String], creatorRequestId: String?, health: String, taskId: String?) {
        self.serviceId = serviceId; self.instanceId = instanceId; self.attributes = attributes
        self.creatorRequestId = creatorRequestId; self.health = health; self.taskId = taskId
    }
}

/// Namespaces, services, instances and operations of Cloud Map, per account.
public struct DiscoveryStore: Sendable {
    let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    // MARK: namespaces

    public func createNamespace(_ conn: PostgresConnection, account: String, id: String, name: String, type: String, description: String?,
                                creatorRequestId: String?, vpc: String?, soaTTL: Int?, tags: [Tag], now: Date) async throws -> Bool {
        try await conn.first("""
            INSERT INTO sd_namespaces (account_id, id, name, type, description, creator_request_id, vpc, soa_ttl, tags, created_at)
            VALUES (\(account), \(id), \(name), \(type), \(description), \(creatorRequestId), \(vpc), \(soaTTL),
                    \(try ECSJSON.encodeString(tags))::jsonb, \(now))
            ON CONFLICT DO NOTHING RETURNING 1
            """, as: Int.self, logger: logger) != nil
    }

    public func namespaces(_ conn: PostgresConnection, account: String, ids: [String]? = nil, names: [String]? = nil) async throws -> [NamespaceRow] {
        var out: [NamespaceRow] = []
        let rows = try await conn.query("""
            SELECT n.account_id, n.id, n.name, n.type, n.description, n.creator_request_id, n.soa_ttl, n.tags::text, n.created_at,
                   (SELECT count(*) FROM sd_services s WHERE s.account_id = n.account_id AND s.namespace_id = n.id)::int
            FROM sd_namespaces n
            WHERE n.account_id = \(account)
              AND (\(ids ?? [])::text[] = '{}' OR n.id = ANY(\(ids ?? [])::text[]))
              AND (\(names ?? [])::text[] = '{}' OR n.name = ANY(\(names ?? [])::text[]))
            ORDER BY n.created_at, n.id
            """, logger: logger)
        for try await r in rows.decode((String, String, String, String, String?, String?, Int?, String, Date, Int).self) {
            out.append(NamespaceRow(account: r.0, id: r.1, name: r.2, type: r.3, description: r.4, creatorRequestId: r.5, soaTTL: r.6,
                                    tags: (try? ECSJSON.decode([Tag].self, from: r.7)) ?? [], createdAt: r.8, serviceCount: r.9))
        }
        return out
    }

    /// Deletes a namespace that holds no service; false when it still does.
    public func deleteNamespace(_ conn: PostgresConnection, account: String, id: String) async throws -> Bool {
        try await conn.first("""
            DELETE FROM sd_namespaces n WHERE n.account_id = \(account) AND n.id = \(id)
              AND NOT EXISTS (SELECT 1 FROM sd_services s WHERE s.account_id = n.account_id AND s.namespace_id = n.id)
            RETURNING 1
            """, as: Int.self, logger: logger) != nil
    }

    // MARK: services

    public func createService(_ conn: PostgresConnection, _ s: DiscoveryServiceRow) async throws -> Bool {
        try await conn.first("""
            INSERT INTO sd_services (account_id, id, namespace_id, name, type, description, creator_request_id, dns_config, custom_health,
                                     tags, created_at)
            VALUES (\(s.account), \(s.id), \(s.namespaceId), \(s.name), \(s.type), \(s.description), \(s.creatorRequestId),
                    \(try s.dnsConfig.map { try ECSJSON.encodeString($0) })::jsonb, \(try s.customHealth.map { try ECSJSON.encodeString($0) })::jsonb,
                    \(try ECSJSON.encodeString(s.tags))::jsonb, \(s.createdAt))
            ON CONFLICT DO NOTHING RETURNING 1
            """, as: Int.self, logger: logger) != nil
    }

    public func services(_ conn: PostgresConnection, account: String, ids: [String]? = nil, namespaceIds: [String]? = nil,
                         name: String? = nil, lock: Bool = false) async throws -> [DiscoveryServiceRow] {
        var out: [DiscoveryServiceRow] = []
        let rows = try await conn.query("""
            SELECT s.account_id, s.id, s.namespace_id, s.name, s.type, s.description, s.creator_request_id, s.dns_config::text,
                   s.custom_health::text, s.tags::text, s.revision, s.created_at,
                   (SELECT count(*) FROM sd_instances i WHERE i.account_id = s.account_id AND i.service_id = s.id)::int
            FROM sd_services s
            WHERE s.account_id = \(account)
              AND (\(ids ?? [])::text[] = '{}' OR s.id = ANY(\(ids ?? [])::text[]))
              AND (\(namespaceIds ?? [])::text[] = '{}' OR s.namespace_id = ANY(\(namespaceIds ?? [])::text[]))
              AND (\(name)::text IS NULL OR s.name = \(name))
            ORDER BY s.created_at, s.id \(unescaped: lock ? "FOR UPDATE OF s" : "")
            """, logger: logger)
        for try await r in rows.decode((String, String, String, String, String, String?, String?, String?, String?, String, Int64, Date, Int).self) {
            out.append(DiscoveryServiceRow(
                account: r.0, id: r.1, namespaceId: r.2, name: r.3, type: r.4, description: r.5, creatorRequestId: r.6,
                dnsConfig: r.7.flatMap { try? ECSJSON.decode(ServiceDiscovery.DnsConfig.self, from: $0) },
                customHealth: r.8.flatMap { try? ECSJSON.decode(ServiceDiscovery.HealthCheckCustomConfig.self, from: $0) },
                tags: (try? ECSJSON.decode([Tag].self, from: r.9)) ?? [], revision: r.10, createdAt: r.11, instanceCount: r.12))
        }
        return out
    }

    public func updateService(_ conn: PostgresConnection, account: String, id: String, description: String?, dnsConfig: ServiceDiscovery.DnsConfig?) async throws {
        try await conn.query("""
            UPDATE sd_services SET description = \(description), dns_config = \(try dnsConfig.map { try ECSJSON.encodeString($0) })::jsonb,
                   revision = revision + 1
            WHERE account_id = \(account) AND id = \(id)
            """, logger: logger)
    }

    /// Deletes a service that holds no instance; false when it still does.
    public func deleteService(_ conn: PostgresConnection, account: String, id: String) async throws -> Bool {
        try await conn.first("""
            DELETE FROM sd_services s WHERE s.account_id = \(account) AND s.id = \(id)
              AND NOT EXISTS (SELECT 1 FROM sd_instances i WHERE i.account_id = s.account_id AND i.service_id = s.id)
            RETURNING 1
            """, as: Int.self, logger: logger) != nil
    }

    /// The ACTIVE ECS services (cluster/name) that register their tasks in this Cloud Map service, by its ARN (a
    /// draining service only withdraws instances).
    public func ecsServicesNaming(_ conn: PostgresConnection, account: String, registryArn: String) async throws -> [String] {
        let rows = try await conn.query("""
            SELECT cluster_name || '/' || service_name FROM services
            WHERE account_id = \(account) AND status = 'ACTIVE'
              AND EXISTS (SELECT 1 FROM jsonb_array_elements(service_registries) r WHERE r->>'registryArn' = \(registryArn))
            ORDER BY 1
            """, logger: logger)
        var names: [String] = []
        for try await name in rows.decode(String.self) { names.append(name) }
        return names
    }

    public func setTags(_ conn: PostgresConnection, account: String, namespace: Bool, id: String, tags: [Tag]) async throws {
        let encoded = try ECSJSON.encodeString(tags)
        if namespace {
            try await conn.query("UPDATE sd_namespaces SET tags = \(encoded)::jsonb WHERE account_id = \(account) AND id = \(id)", logger: logger)
        } else {
            try await conn.query("UPDATE sd_services SET tags = \(encoded)::jsonb WHERE account_id = \(account) AND id = \(id)", logger: logger)
        }
    }

    // MARK: instances

    public func instances(_ conn: PostgresConnection, account: String, serviceIds: [String]? = nil, taskIds: [String]? = nil) async throws
        -> [DiscoveryInstanceRow]
    {
        var out: [DiscoveryInstanceRow] = []
        let rows = try await conn.query("""
            SELECT service_id, instance_id, attributes::text, creator_request_id, health, task_id FROM sd_instances
            WHERE account_id = \(account)
              AND (\(serviceIds ?? [])::text[] = '{}' OR service_id = ANY(\(serviceIds ?? [])::text[]))
              AND (\(taskIds ?? [])::text[] = '{}' OR task_id = ANY(\(taskIds ?? [])::text[]))
            ORDER BY service_id, instance_id
            """, logger: logger)
        for try await r in rows.decode((String, String, String, String?, String, String?).self) {
            out.append(DiscoveryInstanceRow(serviceId: r.0, instanceId: r.1, attributes: (try? ECSJSON.decode([String: String].self, from: r.2)) ?? [:],
                                            creatorRequestId: r.3, health: r.4, taskId: r.5))
        }
        return out
    }

    /// Registers or replaces an instance (Cloud Map's RegisterInstance updates an existing id) and bumps the revision.
    public func putInstance(_ conn: PostgresConnection, account: String, _ i: DiscoveryInstanceRow, now: Date) async throws {
        try await conn.query("""
            INSERT INTO sd_instances (account_id, service_id, instance_id, attributes, creator_request_id, health, task_id, updated_at)
            VALUES (\(account), \(i.serviceId), \(i.instanceId), \(try ECSJSON.encodeString(i.attributes))::jsonb, \(i.creatorRequestId),
                    \(i.health), \(i.taskId), \(now))
            ON CONFLICT (account_id, service_id, instance_id) DO UPDATE SET attributes = EXCLUDED.attributes,
                creator_request_id = EXCLUDED.creator_request_id, health = EXCLUDED.health, task_id = EXCLUDED.task_id, updated_at = EXCLUDED.updated_at
            """, logger: logger)
        try await bump(conn, account: account, serviceId: i.serviceId)
    }

    public func deleteInstance(_ conn: PostgresConnection, account: String, serviceId: String, instanceId: String) async throws -> Bool {
        let deleted = try await conn.first("""
            DELETE FROM sd_instances WHERE account_id = \(account) AND service_id = \(serviceId) AND instance_id = \(instanceId) RETURNING 1
            """, as: Int.self, logger: logger) != nil
        if deleted { try await bump(conn, account: account, serviceId: serviceId) }
        return deleted
    }

    /// Sets an instance's health; false when it is already that.
    public func setHealth(_ conn: PostgresConnection, account: String, serviceId: String, instanceId: String, health: String, now: Date) async throws -> Bool {
        let changed = try await conn.first("""
            UPDATE sd_instances SET health = \(health), updated_at = \(now)
            WHERE account_id = \(account) AND service_id = \(serviceId) AND instance_id = \(instanceId) AND health <> \(health)
            RETURNING 1
            """, as: Int.self, logger: logger) != nil
        if changed { try await bump(conn, account: account, serviceId: serviceId) }
        return changed
    }

    func bump(_ conn: PostgresConnection, account: String, serviceId: String) async throws {
        try await conn.query("UPDATE sd_services SET revision = revision + 1 WHERE account_id = \(account) AND id = \(serviceId)", logger: logger)
    }

    /// The DNS names of an account: every service of its DNS namespaces with DNS records, and its healthy instances.
    public func dnsNames(_ conn: PostgresConnection, account: String) async throws -> [ServiceDiscovery.DNSName] {
        var byService: [String: ServiceDiscovery.DNSName] = [:]
        var order: [String] = []
        let rows = try await conn.query("""
            SELECT s.id, n.name, s.name, s.dns_config::text, i.instance_id, i.attributes::text
            FROM sd_services s
            JOIN sd_namespaces n ON n.account_id = s.account_id AND n.id = s.namespace_id AND n.type = 'DNS_PRIVATE'
            LEFT JOIN sd_instances i ON i.account_id = s.account_id AND i.service_id = s.id AND i.health = 'HEALTHY'
            WHERE s.account_id = \(account) AND s.dns_config IS NOT NULL
            ORDER BY n.name, s.name, i.instance_id
            """, logger: logger)
        for try await r in rows.decode((String, String, String, String, String?, String?).self) {
            if byService[r.0] == nil {
                let records = (try? ECSJSON.decode(ServiceDiscovery.DnsConfig.self, from: r.3))?.dnsRecords ?? []
                byService[r.0] = ServiceDiscovery.DNSName(namespace: r.1, service: r.2, records: records, instances: [])
                order.append(r.0)
            }
            if let id = r.4 {
                let attributes = r.5.flatMap { try? ECSJSON.decode([String: String].self, from: $0) } ?? [:]
                byService[r.0]?.instances.append(ServiceDiscovery.Endpoint(id: id, ipv4: attributes[DiscoveryRules.ipv4Attribute],
                                                       port: attributes[DiscoveryRules.portAttribute].flatMap(Int.init)))
            }
        }
        return order.compactMap { byService[$0] }
    }

    // MARK: operations

    /// Records an operation; Stowage completes each in the transaction that asks for it, so it is SUCCESS when read.
    public func operation(_ conn: PostgresConnection, account: String, type: String, targets: [String: String], now: Date) async throws -> String {
        let id = DiscoveryRules.newId(prefix: "")
        try await conn.query("""
            INSERT INTO sd_operations (account_id, id, type, status, targets, created_at, updated_at)
            VALUES (\(account), \(id), \(type), 'SUCCESS', \(try ECSJSON.encodeString(targets))::jsonb, \(now), \(now))
            """, logger: logger)
        return id
    }

    public func operations(_ conn: PostgresConnection, account: String, ids: [String]? = nil) async throws -> [ServiceDiscovery.Operation] {
        var out: [ServiceDiscovery.Operation] = []
        let rows = try await conn.query("""
            SELECT id, type, status, targets::text, created_at, updated_at FROM sd_operations
            WHERE account_id = \(account) AND (\(ids ?? [])::text[] = '{}' OR id = ANY(\(ids ?? [])::text[]))
            ORDER BY created_at, id
            """, logger: logger)
        for try await r in rows.decode((String, String, String, String, Date, Date).self) {
            out.append(ServiceDiscovery.Operation(id: r.0, ownerAccount: account, type: r.1, status: r.2, createDate: r.4, updateDate: r.5,
                                                  targets: (try? ECSJSON.decode([String: String].self, from: r.3)) ?? [:]))
        }
        return out
    }
}

import Foundation
import Logging
import PostgresNIO
import StowageModel

/// A stored task definition revision.
public struct TaskDefinitionRow: Sendable, Equatable {
    public var family: String
    public var revision: Int
    public var status: String
    public var body: TaskDefinition
    public var tags: [Tag]
    public var registeredBy: String?
    public var registeredAt: Date
    public var deregisteredAt: Date?
}

public struct TaskDefinitionStore: Sendable {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    static let selectColumns = """
        SELECT family, revision, status, body::text, tags::text, registered_by, registered_at, deregistered_at
        FROM task_definitions
        """

    /// Takes the family's next revision number and stores the body under it.
    /// ACTIVE revisions of a family, for the revisions-per-family quota.
    public func activeRevisions(_ conn: PostgresConnection, account: String, family: String) async throws -> Int {
        try await conn.first("""
            SELECT count(*)::bigint FROM task_definitions WHERE account_id = \(account) AND family = \(family) AND status = 'ACTIVE'
            """, as: Int.self, logger: logger) ?? 0
    }

    public func register(_ conn: PostgresConnection, account: String, body: TaskDefinition, tags: [Tag],
                         registeredBy: String) async throws -> TaskDefinitionRow {
        let family = body.family ?? ""
        guard let revision = try await conn.first("""
            INSERT INTO task_definition_families (account_id, family, last_revision) VALUES (\(account), \(family), 1)
            ON CONFLICT (account_id, family) DO UPDATE SET last_revision = task_definition_families.last_revision + 1
            RETURNING last_revision
            """, as: Int.self, logger: logger)
        else { throw DatabaseConfigError(message: "no revision returned for family \(family)") }
        let bodyJSON = try ECSJSON.encodeString(body)
        let tagsJSON = try ECSJSON.encodeString(tags)
        try await conn.query("""
            INSERT INTO task_definitions (account_id, family, revision, body, tags, registered_by)
            VALUES (\(account), \(family), \(revision), \(bodyJSON)::jsonb, \(tagsJSON)::jsonb, \(registeredBy))
            """, logger: logger)
        guard let record = try await get(conn, account: account, family: family, revision: revision) else {
            throw DatabaseConfigError(message: "task definition \(family):\(revision) vanished after insert")
        }
        return record
    }

    public func get(_ conn: PostgresConnection, account: String, family: String, revision: Int) async throws
        -> TaskDefinitionRow?
    {
        try await records(conn.query("""
            \(unescaped: Self.selectColumns)
            WHERE account_id = \(account) AND family = \(family) AND revision = \(revision)
            """, logger: logger)).first
    }

    /// The highest ACTIVE revision: what a bare family name refers to.
    public func latestActive(_ conn: PostgresConnection, account: String, family: String) async throws
        -> TaskDefinitionRow?
    {
        try await records(conn.query("""
            \(unescaped: Self.selectColumns)
            WHERE account_id = \(account) AND family = \(family) AND status = 'ACTIVE'
            ORDER BY revision DESC LIMIT 1
            """, logger: logger)).first
    }

    /// Revisions in (family, revision) order, ascending or descending, resuming after a key.
    public func list(_ conn: PostgresConnection, account: String, family: String?, status: String, descending: Bool,
                     after: (String, Int)?, limit: Int) async throws -> [(family: String, revision: Int)] {
        let rows: PostgresRowSequence
        if descending {
            rows = try await conn.query("""
                SELECT family, revision FROM task_definitions
                WHERE account_id = \(account) AND status = \(status)
                  AND (\(family)::text IS NULL OR family = \(family))
                  AND (\(after?.0)::text IS NULL OR (family, revision) < (\(after?.0 ?? ""), \(after?.1 ?? 0)))
                ORDER BY family DESC, revision DESC LIMIT \(limit)
                """, logger: logger)
        } else {
            rows = try await conn.query("""
                SELECT family, revision FROM task_definitions
                WHERE account_id = \(account) AND status = \(status)
                  AND (\(family)::text IS NULL OR family = \(family))
                  AND (family, revision) > (\(after?.0 ?? ""), \(after?.1 ?? 0))
                ORDER BY family, revision LIMIT \(limit)
                """, logger: logger)
        }
        var result: [(family: String, revision: Int)] = []
        for try await (f, r) in rows.decode((String, Int).self) { result.append((f, r)) }
        return result
    }

    /// Families by name. ACTIVE: with an ACTIVE revision; INACTIVE: with none; ALL: every family.
    public func families(_ conn: PostgresConnection, account: String, prefix: String?, status: String,
                         after: String?, limit: Int) async throws -> [String] {
        let pattern = SQLPattern.prefix(prefix ?? "")
        let rows = try await conn.query("""
            SELECT f.family FROM task_definition_families f
            WHERE f.account_id = \(account) AND f.family LIKE \(pattern) AND f.family > \(after ?? "")
              AND (\(status) = 'ALL'
                   OR (\(status) = 'ACTIVE') = EXISTS (SELECT 1 FROM task_definitions t
                        WHERE t.account_id = f.account_id AND t.family = f.family AND t.status = 'ACTIVE'))
            ORDER BY f.family LIMIT \(limit)
            """, logger: logger)
        var result: [String] = []
        for try await family in rows.decode(String.self) { result.append(family) }
        return result
    }

    public func setStatus(_ conn: PostgresConnection, account: String, family: String, revision: Int,
                          status: String) async throws {
        try await conn.query("""
            UPDATE task_definitions
               SET status = \(status),
                   deregistered_at = CASE WHEN \(status) = 'ACTIVE' THEN NULL ELSE COALESCE(deregistered_at, now()) END
            WHERE account_id = \(account) AND family = \(family) AND revision = \(revision)
            """, logger: logger)
    }

    public func setTags(_ conn: PostgresConnection, account: String, family: String, revision: Int, tags: [Tag]) async throws {
        let tagsJSON = try ECSJSON.encodeString(tags)
        try await conn.query("""
            UPDATE task_definitions SET tags = \(tagsJSON)::jsonb
            WHERE account_id = \(account) AND family = \(family) AND revision = \(revision)
            """, logger: logger)
    }

    /// Deletes the account's DELETE_IN_PROGRESS revisions; returns how many went.
    public func purgeDeleted(_ conn: PostgresConnection, account: String) async throws -> Int {
        let rows = try await conn.query("""
            DELETE FROM task_definitions WHERE account_id = \(account) AND status = 'DELETE_IN_PROGRESS'
            RETURNING revision
            """, logger: logger)
        var count = 0
        for try await _ in rows.decode(Int.self) { count += 1 }
        return count
    }


    private func records(_ rows: PostgresRowSequence) async throws -> [TaskDefinitionRow] {
        var result: [TaskDefinitionRow] = []
        for try await (family, revision, status, body, tags, by, at, deregistered) in rows.decode(
            (String, Int, String, String, String, String?, Date, Date?).self)
        {
            result.append(TaskDefinitionRow(
                family: family, revision: revision, status: status,
                body: try ECSJSON.decode(TaskDefinition.self, from: body),
                tags: try ECSJSON.decode([Tag].self, from: tags),
                registeredBy: by, registeredAt: at, deregisteredAt: deregistered))
        }
        return result
    }
}

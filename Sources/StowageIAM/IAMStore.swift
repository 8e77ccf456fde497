import Foundation
import Logging
import PostgresNIO
import StowageModel
import StowageStore

/// Which kind of IAM identity a row belongs to, as stored in `principal_kind`.
public enum PrincipalKind: String, Sendable, CaseIterable { case user, role, group }

/// A role as stored: the trust policy is kept as written, so Get returns the user's own text.
public struct RoleRow: Sendable, Equatable {
    public var name: String
    public var roleId: String
    public var path: String
    public var description: String
    public var trustPolicy: String
    public var maxSessionSeconds: Int
    public var createdAt: Date

    public init(name: String, roleId: String, path: String, description: String, trustPolicy: String, maxSessionSeconds: Int, createdAt: Date) {
        self.name = name; self.roleId = roleId; self.path = path; self.description = description; self.trustPolicy = trustPolicy
        self.maxSessionSeconds = maxSessionSeconds; self.createdAt = createdAt
    }
}

/// A user row as IAM answers it (GetUser, ListUsers).
public struct UserRow: Sendable, Equatable {
    public var name: String
    public var userId: String
    public var path: String
    public var createdAt: Date
}

/// A group row; its members and policies are separate rows.
public struct GroupRow: Sendable, Equatable {
    public var name: String
    public var groupId: String
    public var path: String
    public var createdAt: Date
}

/// A customer managed policy with its attachment count, as GetPolicy/ListPolicies answer it.
public struct PolicyRow: Sendable, Equatable {
    public var name: String
    public var policyId: String
    public var path: String
    public var description: String
    public var defaultVersion: Int
    public var attachmentCount: Int
    public var createdAt: Date
    public var updatedAt: Date
}

/// One of a managed policy's (at most five) versions, kept as written.
public struct PolicyVersionRow: Sendable, Equatable {
    public var version: Int
    public var document: String
    public var isDefault: Bool
    public var createdAt: Date

    public init(version: Int, document: String, isDefault: Bool, createdAt: Date) {
        self.version = version; self.document = document; self.isDefault = isDefault; self.createdAt = createdAt
    }
}

/// Temporary credentials as stored: the secret sealed, the token only as its hash.
public struct SessionRow: Sendable, Equatable {
    public var accessKeyId: String
    public var roleName: String
    public var sessionName: String
    public var secretSealed: Data
    public var tokenSHA256: String
    public var sessionPolicy: String?
    public var expiresAt: Date
}

/// IAM's rows: principals, policies and their versions, attachments, inline policies, sessions, epochs.
/// Every query is scoped to one account; every write bumps the account's epoch so caches notice.
public struct IAMStore: Sendable {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    /// The channel an account id is NOTIFYed on when its IAM data changes.
    public static let channel = "stowage_iam"

    public func bumpEpoch(_ conn: PostgresConnection, account: String) async throws {
        try await conn.query("""
            INSERT INTO iam_epochs (account_id, epoch) VALUES (\(account), 1)
            ON CONFLICT (account_id) DO UPDATE SET epoch = iam_epochs.epoch + 1
            """, logger: logger)
        try await conn.query("SELECT pg_notify(\(Self.channel), \(account))", logger: logger)
    }

    /// A user's or role's tags (IAM tags, stored as ECS-style key/value pairs).
    public func tags(_ conn: PostgresConnection, account: String, kind: PrincipalKind, name: String) async throws -> [Tag] {
        let text: String?
        switch kind {
        case .user: text = try await conn.first("SELECT tags::text FROM users WHERE account_id = \(account) AND user_name = \(name)", as: String.self, logger: logger)
        case .role: text = try await conn.first("SELECT tags::text FROM iam_roles WHERE account_id = \(account) AND role_name = \(name)", as: String.self, logger: logger)
        case .group: text = nil
        }
        guard let text else { return [] }
        return (try? JSONDecoder().decode([Tag].self, from: Data(text.utf8))) ?? []
    }

    public func setTags(_ conn: PostgresConnection, account: String, kind: PrincipalKind, name: String, tags: [Tag]) async throws {
        let text = String(decoding: try JSONEncoder().encode(tags), as: UTF8.self)
        switch kind {
        case .user: try await conn.query("UPDATE users SET tags = \(text)::jsonb WHERE account_id = \(account) AND user_name = \(name)", logger: logger)
        case .role: try await conn.query("UPDATE iam_roles SET tags = \(text)::jsonb WHERE account_id = \(account) AND role_name = \(name)", logger: logger)
        case .group: break
        }
    }

    // MARK: users

    public func users(_ conn: PostgresConnection, account: String, name: String? = nil) async throws -> [UserRow] {
        let rows = try await conn.query("""
            SELECT user_name, user_id, path, created_at FROM users
            WHERE account_id = \(account) AND (\(name ?? "") = '' OR user_name = \(name ?? "")) ORDER BY user_name
            """, logger: logger)
        var out: [UserRow] = []
        for try await (name, id, path, created) in rows.decode((String, String, String, Date).self) {
            out.append(UserRow(name: name, userId: id, path: path, createdAt: created))
        }
        return out
    }

    public func user(_ conn: PostgresConnection, account: String, name: String) async throws -> UserRow? {
        try await users(conn, account: account, name: name).first
    }

    public func createUser(_ conn: PostgresConnection, account: String, name: String, userId: String, path: String) async throws {
        try await conn.query("""
            INSERT INTO users (account_id, user_name, user_id, path) VALUES (\(account), \(name), \(userId), \(path))
            """, logger: logger)
    }

    public func deleteUser(_ conn: PostgresConnection, account: String, name: String) async throws {
        try await conn.query("DELETE FROM users WHERE account_id = \(account) AND user_name = \(name)", logger: logger)
    }

    // MARK: roles

    public func roles(_ conn: PostgresConnection, account: String, name: String? = nil) async throws -> [RoleRow] {
        let rows = try await conn.query("""
            SELECT role_name, role_id, path, description, trust_policy, max_session_seconds, created_at FROM iam_roles
            WHERE account_id = \(account) AND (\(name ?? "") = '' OR role_name = \(name ?? "")) ORDER BY role_name
            """, logger: logger)
        var out: [RoleRow] = []
        for try await (n, id, path, desc, trust, maxSession, created) in rows.decode((String, String, String, String, String, Int, Date).self) {
            out.append(RoleRow(name: n, roleId: id, path: path, description: desc, trustPolicy: trust,
                                  maxSessionSeconds: maxSession, createdAt: created))
        }
        return out
    }

    public func createRole(_ conn: PostgresConnection, account: String, _ role: RoleRow) async throws {
        try await conn.query("""
            INSERT INTO iam_roles (account_id, role_name, role_id, path, description, trust_policy, max_session_seconds)
            VALUES (\(account), \(role.name), \(role.roleId), \(role.path), \(role.description), \(role.trustPolicy), \(role.maxSessionSeconds))
            """, logger: logger)
    }

    public func updateTrustPolicy(_ conn: PostgresConnection, account: String, role: String, document: String) async throws {
        try await conn.query("UPDATE iam_roles SET trust_policy = \(document) WHERE account_id = \(account) AND role_name = \(role)",
                             logger: logger)
    }

    public func deleteRole(_ conn: PostgresConnection, account: String, name: String) async throws {
        try await conn.query("DELETE FROM iam_roles WHERE account_id = \(account) AND role_name = \(name)", logger: logger)
    }

    // MARK: groups

    public func groups(_ conn: PostgresConnection, account: String, name: String? = nil) async throws -> [GroupRow] {
        let rows = try await conn.query("""
            SELECT group_name, group_id, path, created_at FROM iam_groups
            WHERE account_id = \(account) AND (\(name ?? "") = '' OR group_name = \(name ?? "")) ORDER BY group_name
            """, logger: logger)
        var out: [GroupRow] = []
        for try await (n, id, path, created) in rows.decode((String, String, String, Date).self) {
            out.append(GroupRow(name: n, groupId: id, path: path, createdAt: created))
        }
        return out
    }

    public func createGroup(_ conn: PostgresConnection, account: String, name: String, groupId: String, path: String) async throws {
        try await conn.query("""
            INSERT INTO iam_groups (account_id, group_name, group_id, path) VALUES (\(account), \(name), \(groupId), \(path))
            """, logger: logger)
    }

    public func deleteGroup(_ conn: PostgresConnection, account: String, name: String) async throws {
        try await conn.query("DELETE FROM iam_groups WHERE account_id = \(account) AND group_name = \(name)", logger: logger)
    }

    public func members(_ conn: PostgresConnection, account: String, group: String) async throws -> [String] {
        try await conn.column("""
            SELECT user_name FROM iam_group_members WHERE account_id = \(account) AND group_name = \(group) ORDER BY user_name
            """, as: String.self, logger: logger)
    }

    public func groupsOf(_ conn: PostgresConnection, account: String, user: String) async throws -> [String] {
        try await conn.column("""
            SELECT group_name FROM iam_group_members WHERE account_id = \(account) AND user_name = \(user) ORDER BY group_name
            """, as: String.self, logger: logger)
    }

    public func setMembership(_ conn: PostgresConnection, account: String, group: String, user: String, member: Bool) async throws {
        if member {
            try await conn.query("""
                INSERT INTO iam_group_members (account_id, group_name, user_name) VALUES (\(account), \(group), \(user))
                ON CONFLICT DO NOTHING
                """, logger: logger)
        } else {
            try await conn.query("""
                DELETE FROM iam_group_members WHERE account_id = \(account) AND group_name = \(group) AND user_name = \(user)
                """, logger: logger)
        }
    }

    // MARK: managed policies

    public func policies(_ conn: PostgresConnection, account: String, name: String? = nil) async throws -> [PolicyRow] {
        let rows = try await conn.query("""
            SELECT p.policy_name, p.policy_id, p.path, p.description, p.default_version, p.created_at, p.updated_at,
                   (SELECT count(*) FROM iam_attachments a WHERE a.account_id = p.account_id
                       AND a.policy_arn LIKE '%:policy' || p.path || p.policy_name)::bigint
            FROM iam_policies p
            WHERE p.account_id = \(account) AND (\(name ?? "") = '' OR p.policy_name = \(name ?? "")) ORDER BY p.policy_name
            """, logger: logger)
        var out: [PolicyRow] = []
        for try await (n, id, path, desc, def, created, updated, count) in rows.decode((String, String, String, String, Int, Date, Date, Int).self) {
            out.append(PolicyRow(name: n, policyId: id, path: path, description: desc, defaultVersion: def,
                                    attachmentCount: count, createdAt: created, updatedAt: updated))
        }
        return out
    }

    public func createPolicy(_ conn: PostgresConnection, account: String, name: String, policyId: String, path: String,
                             description: String, document: String) async throws {
        try await conn.query("""
            INSERT INTO iam_policies (account_id, policy_name, policy_id, path, description, default_version, last_version)
            VALUES (\(account), \(name), \(policyId), \(path), \(description), 1, 1)
            """, logger: logger)
        try await conn.query("""
            INSERT INTO iam_policy_versions (account_id, policy_name, version, document) VALUES (\(account), \(name), 1, \(document))
            """, logger: logger)
    }

    public func versions(_ conn: PostgresConnection, account: String, policy: String) async throws -> [PolicyVersionRow] {
        let rows = try await conn.query("""
            SELECT v.version, v.document, v.version = p.default_version, v.created_at
            FROM iam_policy_versions v JOIN iam_policies p USING (account_id, policy_name)
            WHERE v.account_id = \(account) AND v.policy_name = \(policy) ORDER BY v.version DESC
            """, logger: logger)
        var out: [PolicyVersionRow] = []
        for try await (version, document, isDefault, created) in rows.decode((Int, String, Bool, Date).self) {
            out.append(PolicyVersionRow(version: version, document: document, isDefault: isDefault, createdAt: created))
        }
        return out
    }

    /// Adds a version (the caller checked the limit of five); returns its number.
    public func addVersion(_ conn: PostgresConnection, account: String, policy: String, document: String, makeDefault: Bool) async throws -> Int {
        let version = try await conn.first("""
            UPDATE iam_policies SET last_version = last_version + 1, updated_at = now()
            WHERE account_id = \(account) AND policy_name = \(policy) RETURNING last_version
            """, as: Int.self, logger: logger) ?? 0
        try await conn.query("""
            INSERT INTO iam_policy_versions (account_id, policy_name, version, document) VALUES (\(account), \(policy), \(version), \(document))
            """, logger: logger)
        if makeDefault { try await setDefault(conn, account: account, policy: policy, version: version) }
        return version
    }

    public func setDefault(_ conn: PostgresConnection, account: String, policy: String, version: Int) async throws {
        try await conn.query("""
            UPDATE iam_policies SET default_version = \(version), updated_at = now() WHERE account_id = \(account) AND policy_name = \(policy)
            """, logger: logger)
    }

    public func deleteVersion(_ conn: PostgresConnection, account: String, policy: String, version: Int) async throws {
        try await conn.query("""
            DELETE FROM iam_policy_versions WHERE account_id = \(account) AND policy_name = \(policy) AND version = \(version)
            """, logger: logger)
    }

    public func deletePolicy(_ conn: PostgresConnection, account: String, name: String) async throws {
        try await conn.query("DELETE FROM iam_policies WHERE account_id = \(account) AND policy_name = \(name)", logger: logger)
    }

    /// The default version's document of a customer managed policy.
    public func defaultDocument(_ conn: PostgresConnection, account: String, policy: String) async throws -> String? {
        try await conn.first("""
            SELECT v.document FROM iam_policies p JOIN iam_policy_versions v
              ON v.account_id = p.account_id AND v.policy_name = p.policy_name AND v.version = p.default_version
            WHERE p.account_id = \(account) AND p.policy_name = \(policy)
            """, as: String.self, logger: logger)
    }

    // MARK: attachments and inline policies

    public func attached(_ conn: PostgresConnection, account: String, kind: PrincipalKind, name: String) async throws -> [String] {
        try await conn.column("""
            SELECT policy_arn FROM iam_attachments
            WHERE account_id = \(account) AND principal_kind = \(kind.rawValue) AND principal_name = \(name) ORDER BY policy_arn
            """, as: String.self, logger: logger)
    }

    public func attachmentCount(_ conn: PostgresConnection, account: String, policyArn: String) async throws -> Int {
        try await conn.first("SELECT count(*)::bigint FROM iam_attachments WHERE account_id = \(account) AND policy_arn = \(policyArn)",
                             as: Int.self, logger: logger) ?? 0
    }

    public func setAttached(_ conn: PostgresConnection, account: String, kind: PrincipalKind, name: String, policyArn: String,
                            attached: Bool) async throws {
        if attached {
            try await conn.query("""
                INSERT INTO iam_attachments (account_id, principal_kind, principal_name, policy_arn)
                VALUES (\(account), \(kind.rawValue), \(name), \(policyArn)) ON CONFLICT DO NOTHING
                """, logger: logger)
        } else {
            try await conn.query("""
                DELETE FROM iam_attachments WHERE account_id = \(account) AND principal_kind = \(kind.rawValue)
                  AND principal_name = \(name) AND policy_arn = \(policyArn)
                """, logger: logger)
        }
    }

    public func inline(_ conn: PostgresConnection, account: String, kind: PrincipalKind, name: String) async throws -> [(name: String, document: String)] {
        let rows = try await conn.query("""
            SELECT policy_name, document FROM iam_inline_policies
            WHERE account_id = \(account) AND principal_kind = \(kind.rawValue) AND principal_name = \(name) ORDER BY policy_name
            """, logger: logger)
        var out: [(name: String, document: String)] = []
        for try await (n, d) in rows.decode((String, String).self) { out.append((n, d)) }
        return out
    }

    public func putInline(_ conn: PostgresConnection, account: String, kind: PrincipalKind, name: String, policy: String,
                          document: String?) async throws {
        if let document {
            try await conn.query("""
                INSERT INTO iam_inline_policies (account_id, principal_kind, principal_name, policy_name, document)
                VALUES (\(account), \(kind.rawValue), \(name), \(policy), \(document))
                ON CONFLICT (account_id, principal_kind, principal_name, policy_name) DO UPDATE SET document = EXCLUDED.document
                """, logger: logger)
        } else {
            try await conn.query("""
                DELETE FROM iam_inline_policies WHERE account_id = \(account) AND principal_kind = \(kind.rawValue)
                  AND principal_name = \(name) AND policy_name = \(policy)
                """, logger: logger)
        }
    }

    // MARK: access keys

    public func accessKeys(_ conn: PostgresConnection, account: String, user: String) async throws -> [(id: String, status: String, created: Date)] {
        let rows = try await conn.query("""
            SELECT access_key_id, status, created_at FROM access_keys WHERE account_id = \(account) AND user_name = \(user)
            ORDER BY created_at
            """, logger: logger)
        var out: [(id: String, status: String, created: Date)] = []
        for try await (id, status, created) in rows.decode((String, String, Date).self) { out.append((id, status, created)) }
        return out
    }

    public func setKeyStatus(_ conn: PostgresConnection, account: String, user: String, key: String, status: String?) async throws -> Bool {
        if let status {
            return try await conn.first("""
                UPDATE access_keys SET status = \(status) WHERE account_id = \(account) AND user_name = \(user) AND access_key_id = \(key)
                RETURNING 1
                """, as: Int.self, logger: logger) != nil
        }
        return try await conn.first("""
            DELETE FROM access_keys WHERE account_id = \(account) AND user_name = \(user) AND access_key_id = \(key) RETURNING 1
            """, as: Int.self, logger: logger) != nil
    }

    // MARK: sessions

    public func createSession(_ conn: PostgresConnection, account: String, _ session: SessionRow, assumedBy: String) async throws {
        try await conn.query("""
            INSERT INTO sts_sessions (account_id, access_key_id, role_name, session_name, secret_sealed, token_sha256,
                                      session_policy, assumed_by, expires_at)
            VALUES (\(account), \(session.accessKeyId), \(session.roleName), \(session.sessionName), \(session.secretSealed),
                    \(session.tokenSHA256), \(session.sessionPolicy), \(assumedBy), \(session.expiresAt))
            """, logger: logger)
    }

    public func session(_ conn: PostgresConnection, account: String, accessKeyId: String) async throws -> SessionRow? {
        let rows = try await conn.query("""
            SELECT role_name, session_name, secret_sealed, token_sha256, session_policy, expires_at FROM sts_sessions
            WHERE account_id = \(account) AND access_key_id = \(accessKeyId)
            """, logger: logger)
        for try await (role, name, sealed, token, policy, expires) in rows.decode((String, String, Data, String, String?, Date).self) {
            return SessionRow(accessKeyId: accessKeyId, roleName: role, sessionName: name, secretSealed: sealed,
                                 tokenSHA256: token, sessionPolicy: policy, expiresAt: expires)
        }
        return nil
    }

    /// The hourly maintenance: sessions expired for a day are of no use to anyone, and audit days past the
    /// retention leave by partition drop (returns how many were dropped).
    public func maintain(_ conn: PostgresConnection, auditRetentionDays: Int) async throws -> Int {
        try await conn.query("DELETE FROM sts_sessions WHERE expires_at < now() - interval '1 day'", logger: logger)
        return try await conn.first("SELECT stowage_maintain_partitions('audit_events', 1, 2, \(auditRetentionDays)::int)",
                                    as: Int.self, logger: logger) ?? 0
    }
}

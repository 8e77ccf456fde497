import Foundation
import StowageIAM
import StowageModel
import StowageStore

/// Users, roles and groups: created, read, tagged, grouped and deleted, each in one transaction.
extension IAMEntities {
    // MARK: users

    public func createUser(_ name: String, path: String, tags: [Tag]) async throws -> UserRow {
        try await write { [self] conn in
            if try await store.user(conn, account: account, name: name) != nil { throw Self.exists("User", name) }
            try await store.createUser(conn, account: account, name: name, userId: Tenancy.uniqueId("AIDA", account: account), path: path)
            if !tags.isEmpty { try await store.setTags(conn, account: account, kind: .user, name: name, tags: tags) }
            return try await user(conn, name)
        }
    }

    public func user(_ name: String) async throws -> UserRow { try await read { [self] in try await user($0, name) } }

    public func users() async throws -> [UserRow] { try await read { [self] in try await store.users($0, account: account) } }

    /// Refused while the user has access keys, policies or groups, as in IAM.
    public func deleteUser(_ name: String) async throws {
        try await write { [self] conn in
            _ = try await user(conn, name)
            let keys = try await store.accessKeys(conn, account: account, user: name).count
            let groups = try await store.groupsOf(conn, account: account, user: name).count
            let policies = try await hasPolicies(conn, kind: .user, name: name)
            if keys + groups > 0 || policies {
                throw Self.conflict("Cannot delete entity, must delete access keys, detach policies and leave groups first.")
            }
            try await store.deleteUser(conn, account: account, name: name)
        }
    }

    /// New tags replace those with the same keys; at most 50 per principal.
    public func tag(kind: PrincipalKind, name: String, _ tags: [Tag]) async throws {
        try await write { [self] conn in
            try await principalExists(conn, kind: kind, name: name)
            var current = try await store.tags(conn, account: account, kind: kind, name: name)
            for t in tags {
                if let i = current.firstIndex(where: { $0.key == t.key }) { current[i] = t } else { current.append(t) }
            }
            guard current.count <= 50 else { throw APIError("LimitExceeded", "At most 50 tags per \(kind.rawValue).", awsStatus: 409) }
            try await store.setTags(conn, account: account, kind: kind, name: name, tags: current)
        }
    }

    // MARK: roles

    public func createRole(_ name: String, path: String, description: String, trustPolicy: String, maxSessionSeconds: Int,
                           tags: [Tag]) async throws -> RoleRow {
        try await write { [self] conn in
            if try await store.roles(conn, account: account, name: name).first != nil { throw Self.exists("Role", name) }
            try await store.createRole(conn, account: account, RoleRow(
                name: name, roleId: Tenancy.uniqueId("AROA", account: account), path: path, description: description,
                trustPolicy: trustPolicy, maxSessionSeconds: maxSessionSeconds, createdAt: tenant.clock.now()))
            if !tags.isEmpty { try await store.setTags(conn, account: account, kind: .role, name: name, tags: tags) }
            return try await role(conn, name)
        }
    }

    public func role(_ name: String) async throws -> RoleRow { try await read { [self] in try await role($0, name) } }

    public func roles() async throws -> [RoleRow] { try await read { [self] in try await store.roles($0, account: account) } }

    /// Allowed while task definitions still name the role, as in IAM; refused while policies are attached.
    public func deleteRole(_ name: String) async throws {
        try await write { [self] conn in
            _ = try await role(conn, name)
            if try await hasPolicies(conn, kind: .role, name: name) {
                throw Self.conflict("Cannot delete entity, must detach all policies first.")
            }
            try await store.deleteRole(conn, account: account, name: name)
        }
    }

    public func updateTrustPolicy(role name: String, document: String) async throws {
        try await write { [self] conn in
            _ = try await role(conn, name)
            try await store.updateTrustPolicy(conn, account: account, role: name, document: document)
        }
    }

    // MARK: groups

    public func createGroup(_ name: String, path: String) async throws -> GroupRow {
        try await write { [self] conn in
            if try await store.groups(conn, account: account, name: name).first != nil { throw Self.exists("Group", name) }
            try await store.createGroup(conn, account: account, name: name, groupId: Tenancy.uniqueId("AGPA", account: account), path: path)
            return try await group(conn, name)
        }
    }

    /// The group and its members, read together.
    public func group(_ name: String) async throws -> (GroupRow, [UserRow]) {
        try await read { [self] conn in
            let g = try await group(conn, name)
            let members = Set(try await store.members(conn, account: account, group: name))
            return (g, try await store.users(conn, account: account).filter { members.contains($0.name) })
        }
    }

    public func groups() async throws -> [GroupRow] { try await read { [self] in try await store.groups($0, account: account) } }

    public func groups(ofUser name: String) async throws -> [GroupRow] {
        try await read { [self] conn in
            _ = try await user(conn, name)
            let mine = Set(try await store.groupsOf(conn, account: account, user: name))
            return try await store.groups(conn, account: account).filter { mine.contains($0.name) }
        }
    }

    /// Refused while the group has members or policies, as in IAM.
    public func deleteGroup(_ name: String) async throws {
        try await write { [self] conn in
            _ = try await group(conn, name)
            let members = try await store.members(conn, account: account, group: name).count
            let policies = try await hasPolicies(conn, kind: .group, name: name)
            if members > 0 || policies {
                throw Self.conflict("Cannot delete entity, must remove users and detach policies from the group first.")
            }
            try await store.deleteGroup(conn, account: account, name: name)
        }
    }

    public func setMembership(group: String, user: String, member: Bool) async throws {
        try await write { [self] conn in
            _ = try await self.group(conn, group)
            _ = try await self.user(conn, user)
            try await store.setMembership(conn, account: account, group: group, user: user, member: member)
        }
    }
}
